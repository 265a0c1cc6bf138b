// The counter page: log in with the counter's password, call and serve numbers, see the line and today's figures.
"use strict";

const REFRESH_MS = 5000;
const MESSAGES = {  // server codes → what staff read; anything else shows the server's own message
  no_current_ticket: "Quầy chưa có số nào đang gọi. Hãy bấm “Gọi số tiếp theo”.",
  counter_busy: "Quầy đang có số. Hãy hoàn thành, báo vắng mặt hoặc chuyển số hiện tại trước.",
  invalid_transition: "Không thể thực hiện với trạng thái hiện tại của số này.",
  offline: "Không kết nối được máy chủ. Đang thử lại…",
  unknown_code: "Hôm nay không có số nào như vậy được lấy qua điện thoại.",
  already_checked_in: "Số này đã xác nhận có mặt rồi.",
  not_waiting: "Số này đã bị hủy hoặc bị bỏ qua; khách có thể xếp lại hàng một lần trên điện thoại.",
  expired: "Số này là của ngày khác; mời khách lấy số mới.",
};
const STATES = { called: "Đang gọi", serving: "Đang phục vụ" };

let counter = null;
let token = null;
let refreshTimer = null;
let busy = false;

const $ = id => document.getElementById(id);

function tokenKey(n) { return "queue-counter-token-" + n; }

function showMessage(text) { $("message").textContent = text || ""; }

function explain(err) { return MESSAGES[err.code] || err.message; }

function showDesk(visible) {
  $("login").classList.toggle("hidden", visible);
  $("desk").classList.toggle("hidden", !visible);
}

async function login(event) {
  event.preventDefault();
  const n = parseInt($("login-counter").value, 10);
  $("login-error").textContent = "";
  try {
    const data = await api("/api/counters/" + n + "/login", { body: { password: $("login-password").value } });
    counter = n;
    token = data.token;
    sessionStorage.setItem(tokenKey(n), token);
    localStorage.setItem("queue-counter", String(n));
    $("login-password").value = "";
    start();
  } catch (err) {
    $("login-error").textContent = loginRefusal(err, n);
  }
}

function loginRefusal(err, n) {
  // The server words refusals in English for its API users; staff read Vietnamese, with the figures kept.
  const wait = /try again in (\d+) s/.exec(err.message);
  if (err.status === 401) return "Sai mật khẩu quầy " + n + ".";
  if (err.status === 429) {
    return "Nhập sai mật khẩu quá nhiều lần. Vui lòng thử lại sau " + (wait ? wait[1] + " giây." : "ít phút.");
  }
  if (err.status === 422) {
    return "Mật khẩu quầy phải có ít nhất 6 chữ số hoặc 8 ký tự. Nếu mật khẩu của quầy ngắn hơn, vui lòng báo quản trị viên đặt mật khẩu mới.";
  }
  if (err.status === 404) return "Quầy " + n + " chưa có mật khẩu. Vui lòng báo quản trị viên.";
  return explain(err);
}

function logout() {
  if (counter !== null) sessionStorage.removeItem(tokenKey(counter));
  token = null;
  clearInterval(refreshTimer);
  showDesk(false);
}

function start() {
  $("counter-number").textContent = counter;
  showDesk(true);
  refresh();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(refresh, REFRESH_MS);
}

function render(view) {
  const current = view.current;
  const panel = document.querySelector(".current");
  panel.classList.toggle("called", !!current && current.state === "called");
  panel.classList.toggle("serving", !!current && current.state === "serving");
  $("current-number").textContent = current ? current.number : "–";
  $("current-detail").textContent = current ? (STATES[current.state] || current.state) + " · " + current.service
    : "Chưa gọi số nào";
  $("btn-recall").disabled = $("btn-start").disabled = $("btn-noshow").disabled =
    !current || current.state !== "called";
  $("btn-finish").disabled = $("btn-transfer").disabled = !current;
  $("services").textContent = "Dịch vụ: " + (view.services.join(", ") || "chưa cấu hình");

  const select = $("transfer-to");
  if (select.options.length !== view.all_services.length) {
    select.replaceChildren(...view.all_services.map(s => el("option", { value: s.code }, s.code + " – " + s.name_vi)));
  }
  $("waiting-total").textContent = view.waiting_total;
  $("waiting").replaceChildren(...view.waiting.map(t => el("tr", { class: t.priority ? "priority" : "" },
    el("td", {}, t.number), el("td", {}, t.service), el("td", {}, t.priority ? (view.priority_labels[t.priority]
      || t.priority) : ""), el("td", { class: "num" }, hhmm(t.issued_at)))));
  $("today-tickets").textContent = view.today.tickets;
  $("today-noshows").textContent = view.today.no_shows;
  $("today-wait").textContent = mmss(view.today.wait_avg_s);
  $("today-service").textContent = mmss(view.today.service_avg_s);
  $("updated").textContent = "Cập nhật " + hhmmss(new Date());
}

async function refresh() {
  if (!token) return;
  try {
    render(await api("/api/counters/" + counter, { token }));
  } catch (err) {
    if (err.status === 401 || err.status === 403) { logout(); $("login-error").textContent = "Phiên đăng nhập đã hết, vui lòng đăng nhập lại."; return; }
    showMessage(explain(err));
  }
}

async function act(action, body) {
  if (!token || busy) return;
  busy = true;
  showMessage("");
  try {
    const data = await api("/api/counters/" + counter + "/" + action, { token, body: body || {} });
    if (action === "call-next" && !data.ticket) showMessage("Không còn ai đang chờ.");
    if (action === "transfer") showMessage("Đã chuyển số " + data.ticket.number + " sang dịch vụ " + data.ticket.service + ".");
  } catch (err) {
    showMessage(explain(err));
  } finally {
    busy = false;
    refresh();
  }
}

function transfer(event) {
  event.preventDefault();
  act("transfer", { to_service: $("transfer-to").value });
}

// A citizen with a number from a phone arrived at the counter (no QR scanned at a kiosk): type the number.
async function phoneCheckIn(event) {
  event.preventDefault();
  if (!token || busy) return;
  busy = true;
  showMessage("");
  try {
    const data = await api("/api/counter/checkin", { token, body: { number: $("phone-number").value.trim().toUpperCase() } });
    showMessage("Đã xác nhận số " + data.number + " có mặt; còn " + data.people_ahead + " người phía trước.");
    $("phone-number").value = "";
  } catch (err) {
    showMessage(explain(err));
  } finally {
    busy = false;
    refresh();
  }
}

const SHORTCUTS = { Enter: "call-next", r: "recall", b: "start", h: "finish", v: "no-show" };

function onKey(event) {
  if (!token || event.ctrlKey || event.altKey || event.metaKey) return;
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (key === "c") { event.preventDefault(); $("transfer-to").focus(); return; }
  if (SHORTCUTS[key]) { event.preventDefault(); act(SHORTCUTS[key]); }
}

function init() {
  const params = new URLSearchParams(location.search);
  const remembered = params.get("quay") || localStorage.getItem("queue-counter");
  if (remembered) $("login-counter").value = remembered;
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("btn-next").addEventListener("click", () => act("call-next"));
  $("btn-recall").addEventListener("click", () => act("recall"));
  $("btn-start").addEventListener("click", () => act("start"));
  $("btn-finish").addEventListener("click", () => act("finish"));
  $("btn-noshow").addEventListener("click", () => act("no-show"));
  $("transfer").addEventListener("submit", transfer);
  $("phone-checkin").addEventListener("submit", phoneCheckIn);
  document.addEventListener("keydown", onKey);
  const n = parseInt(remembered, 10);
  const saved = n ? sessionStorage.getItem(tokenKey(n)) : null;
  if (saved) { counter = n; token = saved; start(); }
}

init();
