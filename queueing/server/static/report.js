// The daily report page: figures per service and per counter for a chosen day, and the same as CSV.
"use strict";

const $ = id => document.getElementById(id);
const COLUMNS = [["tickets", "Số lượt", String], ["no_shows", "Vắng mặt", String], ["waiting", "Còn chờ", String],
  ["transferred_out", "Chuyển đi", String], ["wait_avg_s", "Chờ TB", mmss], ["wait_p90_s", "Chờ p90", mmss],
  ["service_avg_s", "Phục vụ TB", mmss], ["service_p90_s", "Phục vụ p90", mmss]];
let names = {};

function head(first) {
  return el("tr", {}, el("th", {}, first), ...COLUMNS.map(([, label]) => el("th", { class: "num" }, label)));
}

function rows(items, label) {
  if (!items.length) return [el("tr", {}, el("td", { colspan: String(COLUMNS.length + 1), class: "muted" }, "Không có dữ liệu"))];
  return items.map(item => el("tr", {}, el("td", {}, label(item)),
    ...COLUMNS.map(([key, , format]) => el("td", { class: "num" }, format(item[key])))));
}

async function load(event) {
  if (event) event.preventDefault();
  const day = $("day").value;
  $("csv").href = "/api/report.csv?day=" + day;
  $("error").textContent = "";
  try {
    const report = await api("/api/report?day=" + day);
    $("services").replaceChildren(...rows(report.services, r => r.service + (names[r.service] ? " – " + names[r.service] : "")));
    $("counters").replaceChildren(...rows(report.counters, r => "Quầy " + r.counter));
  } catch (err) {
    $("error").textContent = err.message;
  }
}

async function init() {
  const now = new Date();
  $("day").value = [now.getFullYear(), String(now.getMonth() + 1).padStart(2, "0"), String(now.getDate()).padStart(2, "0")].join("-");
  $("services-head").replaceChildren(head("Dịch vụ"));
  $("counters-head").replaceChildren(head("Quầy"));
  $("controls").addEventListener("submit", load);
  try {
    names = Object.fromEntries((await api("/api/services")).services.map(s => [s.code, s.name_vi]));
  } catch (err) { /* codes alone still make a readable report */ }
  load();
}

init();
