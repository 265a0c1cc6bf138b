// The daily report page: figures per service and per counter for a chosen day, and the same as CSV.
// The server gives them only for a report token: the page asks for it once, keeps it in sessionStorage (gone with
// the tab) and sends it as a bearer token, also for the CSV, which it fetches and saves itself (a plain link
// cannot carry the header).
"use strict";

const $ = id => document.getElementById(id);
const TOKEN_KEY = "queue-report-token";
const COLUMNS = [["tickets", "Số lượt", String], ["no_shows", "Vắng mặt", String], ["waiting", "Còn chờ", String],
  ["transferred_out", "Chuyển đi", String], ["wait_avg_s", "Chờ TB", mmss], ["wait_p90_s", "Chờ p90", mmss],
  ["service_avg_s", "Phục vụ TB", mmss], ["service_p90_s", "Phục vụ p90", mmss]];
const REFUSALS = {  // the server's 401 codes → what a manager reads
  report_refused: "Mã báo cáo không đúng hoặc đã bị thu hồi. Vui lòng nhập lại mã do quản trị viên cấp.",
  report_not_configured: "Máy chủ hàng đợi chưa được cấu hình mã báo cáo (QUEUE_REPORT_TOKEN). Vui lòng báo quản trị viên.",
};
let names = {};
let token = sessionStorage.getItem(TOKEN_KEY);

function head(first) {
  return el("tr", {}, el("th", {}, first), ...COLUMNS.map(([, label]) => el("th", { class: "num" }, label)));
}

function rows(items, label) {
  if (!items.length) return [el("tr", {}, el("td", { colspan: String(COLUMNS.length + 1), class: "muted" }, "Không có dữ liệu"))];
  return items.map(item => el("tr", {}, el("td", {}, label(item)),
    ...COLUMNS.map(([key, , format]) => el("td", { class: "num" }, format(item[key])))));
}

function askForToken(message) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("report").classList.add("hidden");
  $("auth").classList.remove("hidden");
  $("auth-error").textContent = message || "";
  $("token").focus();
}

// A refusal of the token sends the page back to the form; anything else shows where the report would be.
function refused(err) {
  if (err.status === 401) askForToken(REFUSALS[err.code] || "Mã báo cáo không được chấp nhận.");
  else $("error").textContent = err.message;
}

async function load(event) {
  if (event) event.preventDefault();
  $("error").textContent = "";
  try {
    const report = await api("/api/report?day=" + $("day").value, { token });
    $("services").replaceChildren(...rows(report.services, r => r.service + (names[r.service] ? " – " + names[r.service] : "")));
    $("counters").replaceChildren(...rows(report.counters, r => "Quầy " + r.counter));
  } catch (err) {
    refused(err);
  }
}

async function downloadCsv() {
  const day = $("day").value;
  $("error").textContent = "";
  try {
    let response;
    try {
      response = await fetch("/api/report.csv?day=" + day, { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
    } catch (err) {
      throw new ApiError(0, "offline", "Không kết nối được máy chủ");
    }
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new ApiError(response.status, data.code || "", data.error || response.statusText);
    }
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: "bao-cao-" + day + ".csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);  // after the browser has taken the file
  } catch (err) {
    refused(err);
  }
}

function submitToken(event) {
  event.preventDefault();
  token = $("token").value.trim();
  $("token").value = "";
  sessionStorage.setItem(TOKEN_KEY, token);
  $("auth").classList.add("hidden");
  $("report").classList.remove("hidden");
  load();
}

async function init() {
  const now = new Date();
  $("day").value = [now.getFullYear(), String(now.getMonth() + 1).padStart(2, "0"), String(now.getDate()).padStart(2, "0")].join("-");
  $("services-head").replaceChildren(head("Dịch vụ"));
  $("counters-head").replaceChildren(head("Quầy"));
  $("controls").addEventListener("submit", load);
  $("auth-form").addEventListener("submit", submitToken);
  $("csv").addEventListener("click", downloadCsv);
  $("forget").addEventListener("click", () => askForToken(""));
  try {
    names = Object.fromEntries((await api("/api/services")).services.map(s => [s.code, s.name_vi]));
  } catch (err) { /* codes alone still make a readable report */ }
  if (token) {
    $("report").classList.remove("hidden");
    load();
  } else {
    askForToken("");
  }
}

init();
