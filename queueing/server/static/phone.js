// A citizen's phone pages (contracts E): take a number before leaving home (/phone), follow it and show the
// check-in QR at a kiosk (/phone/t/<token>), and what a person who opens that QR's link sees (/phone/c/<code>).
// Plain script, no framework: it has to start fast on a cheap Android over 3G. Vietnamese first, English on a tap.
"use strict";

const POLL_MS = 20000;          // 2,000 phones poll this often: the server's load budget (bench/phone_load.py)
const MAX_POLL_MS = 160000;     // back-off bound while the server cannot be reached
const TERMINAL = new Set(["done", "cancelled", "skipped", "no_show"]);
const CODE = /^[0-9A-HJKMNP-TV-Z]{10}$/;  // a check-in code: 10 Crockford base32 characters
const $ = id => document.getElementById(id);
// the server's refusal codes (contracts E) that have a sentence of their own in TEXT
const REFUSALS = new Set(["bad_code", "already_has_number", "daily_limit", "daily_cap_reached", "service_closed"]);

const TEXT = {
  vi: {
    title: "Lấy số thứ tự", pick_title: "Chọn dịch vụ", loading: "Đang tải…", chosen: "Dịch vụ:",
    mine: "Xem số bạn đã lấy hôm nay",
    phone_label: "Số điện thoại di động", send: "Gửi mã", otp_label: "Mã xác nhận (6 số) trong tin nhắn",
    take: "Lấy số", resend: "Gửi lại mã", resend_in: "Gửi lại mã sau {s} giây", your_number: "Số thứ tự của bạn",
    qr_hint: "Khi đến trung tâm, đưa mã QR này vào máy quét của kiosk để xác nhận có mặt.",
    or_counter: "Hoặc đọc số thứ tự cho cán bộ tại quầy.", requeue: "Xếp lại cuối hàng", cancel: "Hủy số",
    auto: "Trang tự động cập nhật.", updated: "Cập nhật lúc {t}.", home: "Lấy số thứ tự từ điện thoại",
    checkin_title: "Mã xác nhận có mặt",
    checkin_hint: "Đưa mã này vào máy kiosk tại trung tâm để xác nhận bạn đã đến.",
    waiting_n: "{n} người đang chờ", estimate: "chờ khoảng {m} phút", closed: "Đang đóng",
    sent: "Đã gửi mã đến {p}. Mã có hiệu lực {m} phút.",
    ahead: "Còn {n} người trước bạn", next: "Bạn là người tiếp theo", come_by: "Nên có mặt trước {t}",
    wait: "Thời gian chờ dự kiến: khoảng {m} phút",
    virtual: "Chưa xác nhận có mặt", waiting: "Đã xác nhận có mặt. Mời ông/bà chờ gọi số.",
    called: "Mời đến quầy", serving: "Đang được phục vụ tại quầy", done: "Đã hoàn thành. Cảm ơn ông/bà!",
    skipped: "Số đã được gọi khi ông/bà chưa xác nhận có mặt nên đã bị bỏ qua.",
    cancelled: "Số này đã được hủy.", confirm_cancel: "Hủy số thứ tự này?",
    bad_phone: "Số điện thoại chưa đúng. Nhập số di động Việt Nam, ví dụ 0912 345 678.",
    bad_otp: "Nhập đủ 6 chữ số của mã xác nhận.", bad_code: "Mã xác nhận không đúng hoặc đã hết hạn.",
    already_has_number: "Số điện thoại này đã có một số thứ tự đang chờ hôm nay tại trung tâm.",
    too_many: "Ông/bà đã thử quá nhiều lần. Vui lòng thử lại sau {m} phút.",
    daily_limit: "Hôm nay trung tâm đã hết số nhận qua điện thoại. Mời ông/bà lấy số tại kiosk khi đến.",
    daily_cap_reached: "Dịch vụ này đã hết số thứ tự hôm nay.",
    service_closed: "Dịch vụ này đang đóng, chưa nhận số.",
    offline: "Không kết nối được máy chủ, đang thử lại…", not_found: "Không tìm thấy số thứ tự này.",
    bad_link: "Đường dẫn không đúng. Hãy mở lại trang số thứ tự của bạn hoặc lấy số mới.",
    failed: "Không thực hiện được: {e}", no_services: "Hiện chưa có dịch vụ nhận số qua điện thoại.",
  },
  en: {
    title: "Take a queue number", pick_title: "Choose a service", loading: "Loading…", chosen: "Service:",
    mine: "See the number you took today",
    phone_label: "Mobile phone number", send: "Send code", otp_label: "Confirmation code (6 digits) from the SMS",
    take: "Get my number", resend: "Send the code again", resend_in: "Send again in {s} s",
    your_number: "Your number",
    qr_hint: "When you arrive, hold this QR code to a kiosk's scanner to check in.",
    or_counter: "Or tell the counter officer your number.", requeue: "Back to the end of the line",
    cancel: "Cancel my number", auto: "This page updates itself.", updated: "Updated at {t}.",
    home: "Take a number from your phone", checkin_title: "Check-in code",
    checkin_hint: "Hold this code to a kiosk at the centre to check in.",
    waiting_n: "{n} waiting", estimate: "about {m} min", closed: "Closed",
    sent: "Code sent to {p}. It is valid for {m} minutes.",
    ahead: "{n} people ahead of you", next: "You are next", come_by: "Please arrive by {t}",
    wait: "Expected wait: about {m} minutes",
    virtual: "Not checked in yet", waiting: "Checked in. Please wait for your number to be called.",
    called: "Please go to counter", serving: "Being served at counter", done: "Done. Thank you!",
    skipped: "Your number was called before you checked in, so it was skipped.",
    cancelled: "This number was cancelled.", confirm_cancel: "Cancel this number?",
    bad_phone: "That phone number is not right. Enter a Vietnamese mobile number, e.g. 0912 345 678.",
    bad_otp: "Enter all 6 digits of the code.", bad_code: "The code is wrong or has expired.",
    already_has_number: "This phone already holds a number at this centre today.",
    too_many: "Too many tries. Please try again in {m} minutes.",
    daily_limit: "The centre gives no more numbers by phone today. Please take one at a kiosk when you arrive.",
    daily_cap_reached: "This service has given out all of today's numbers.",
    service_closed: "This service is closed and takes no numbers now.",
    offline: "Cannot reach the server, trying again…", not_found: "This number was not found.",
    bad_link: "This link is not right. Open your number's page again or take a new number.",
    failed: "That did not work: {e}", no_services: "No service takes numbers by phone right now.",
  },
};

let centre = "";         // the centre's name, from the service list
// The phone remembers the language and today's number; a browser that refuses storage (some private modes throw)
// only loses that convenience.
function stored(key) { try { return localStorage.getItem(key); } catch (_err) { return null; } }
function store(key, value) { try { localStorage.setItem(key, value); } catch (_err) { /* not remembered */ } }

let lang = stored("phone.lang") === "en" ? "en" : "vi";
let services = [];
let chosen = null;
let view = null;          // the ticket as last read, so a language switch re-words it
let pollTimer = null;
let pollDelay = POLL_MS;

function t(key, values = {}) {
  return (TEXT[lang][key] || TEXT.vi[key] || key).replace(/\{(\w+)\}/g, (_m, name) => values[name]);
}

function say(text, info = false) {  // a problem in red, or (info) a plain note
  $("msg").textContent = text;
  $("msg").className = info ? "note" : "error";
}

function problem(err) {  // a sentence of our own for each refusal the server names, else its message
  if (REFUSALS.has(err.code)) return t(err.code);
  if (err.status === 429) return t("too_many", { m: Math.max(1, Math.ceil((err.retryAfter || 60) / 60)) });
  if (err.status === 0) return t("offline");
  return t("failed", { e: err.message });
}

function wordPage() {
  document.documentElement.lang = lang;
  $("lang").textContent = lang === "vi" ? "English" : "Tiếng Việt";
  $("lang").lang = lang === "vi" ? "en" : "vi";
  $("centre").textContent = centre || t("title");
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  if (services.length) drawServices();
  if (view) drawTicket(view);
}

// -- /phone: pick a service, confirm the phone with a code, get a number ------------------------------------------
async function startPick() {
  $("pick").classList.remove("hidden");
  $("foot").classList.add("hidden");  // the link back to /phone is for the other two pages
  const token = stored("phone.token");
  if (token) {
    $("mine-link").href = "/phone/t/" + encodeURIComponent(token);
    $("mine").classList.remove("hidden");
  }
  try {
    const data = await api("/api/phone/services");
    centre = data.centre;
    $("centre").textContent = centre;
    services = data.services;
    drawServices();
  } catch (err) {
    say(problem(err));
  }
}

function drawServices() {
  const list = services.map(s => {
    const detail = s.open ? t("waiting_n", { n: s.waiting }) +
      (s.estimate_min ? " · " + t("estimate", { m: s.estimate_min }) : "")
      : t("closed");
    const button = el("button", { type: "button", role: "listitem", "data-code": s.code,
      class: "service-btn" + (chosen === s.code ? " on" : "") },
      lang === "en" && s.name_en ? s.name_en : s.name_vi, el("small", {}, detail));
    button.disabled = !s.open;
    button.addEventListener("click", () => choose(s.code));
    return button;
  });
  $("services").replaceChildren(...(list.length ? list : [el("p", { class: "muted" }, t("no_services"))]));
  const current = services.find(s => s.code === chosen);
  if (current) $("chosen").textContent = lang === "en" && current.name_en ? current.name_en : current.name_vi;
}

function choose(code) {
  chosen = code;
  drawServices();
  $("form").classList.remove("hidden");
  $("phone").focus();
}

function phoneDigits() {
  return $("phone").value.replace(/[\s.()-]/g, "");
}

let resendTimer = null;
function countDown(seconds) {
  clearInterval(resendTimer);
  const button = $("resend");
  let left = seconds;
  const tick = () => {
    button.disabled = left > 0;
    button.textContent = left > 0 ? t("resend_in", { s: left }) : t("resend");
    if (left-- <= 0) clearInterval(resendTimer);
  };
  tick();
  resendTimer = setInterval(tick, 1000);
}

async function sendCode(event) {
  if (event) event.preventDefault();
  const phone = phoneDigits();
  if (!/^(\+?84|0)[0-9]{9}$/.test(phone)) { say(t("bad_phone")); return; }
  say("");
  $("send").disabled = true;
  try {
    const sent = await api("/api/phone/otp", { body: { phone, service: chosen } });
    $("otp-step").classList.remove("hidden");
    $("send").classList.add("hidden");
    say(t("sent", { p: phone, m: Math.round(sent.expires_in_s / 60) }), true);
    countDown(sent.resend_after_s || 60);
    $("otp").focus();
  } catch (err) {
    say(err.status === 422 ? t("bad_phone") : problem(err));
  } finally {
    $("send").disabled = false;
  }
}

async function takeNumber() {
  const otp = $("otp").value.trim();
  if (!/^[0-9]{6}$/.test(otp)) { say(t("bad_otp")); return; }
  $("take").disabled = true;
  try {
    const made = await api("/api/phone/tickets", { body: { phone: phoneDigits(), otp, service: chosen } });
    store("phone.token", made.token);
    location.replace("/phone/t/" + encodeURIComponent(made.token));
  } catch (err) {
    say(problem(err));
    $("take").disabled = false;
  }
}

// -- /phone/t/<token>: the number, the line, the check-in QR ------------------------------------------------------
let qrLoaded = null;
function loadQr() {  // the QR library (12 KB gzip) loads only on pages that draw a code
  qrLoaded = qrLoaded || new Promise((resolve, reject) => {
    const script = el("script", { src: "/static/vendor/qrcode-generator/qrcode.js" });
    script.onload = resolve;
    script.onerror = reject;
    document.head.append(script);
  });
  return qrLoaded;
}

async function drawQr(target, text) {
  if (target.dataset.text === text) return;
  await loadQr();
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  target.innerHTML = qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true, alt: text });
  target.dataset.text = text;
}

function ticketToken() {
  return decodeURIComponent(location.pathname.split("/")[3] || "");
}

function describe(v) {
  const parts = [];
  const state = v.state === "no_show" ? "skipped" : v.state;
  if (state === "called" || state === "serving") {
    parts.push(t(state), el("strong", {}, String(v.counter ?? "")));
    return parts;
  }
  parts.push(el("strong", {}, t(state)));
  if (state === "virtual" || state === "waiting") {
    parts.push(el("div", {}, v.people_ahead === 0 ? t("next") : t("ahead", { n: v.people_ahead })));
    if (v.estimate_min) parts.push(el("div", {}, t("wait", { m: v.estimate_min })));
    if (state === "virtual" && v.come_by) parts.push(el("div", {}, t("come_by", { t: v.come_by })));
  }
  return parts;
}

function drawTicket(v) {
  view = v;
  $("number").textContent = v.number;
  $("service").textContent = v.service_name;
  const state = $("state");
  state.className = "panel state " + v.state;
  state.replaceChildren(...describe(v));
  const needsCheckin = v.state === "virtual" && Boolean(v.checkin_url);
  $("qr-panel").classList.toggle("hidden", !needsCheckin);
  if (needsCheckin) drawQr($("qr"), v.checkin_url).catch(() => say(t("offline")));
  $("cancel").classList.toggle("hidden", v.state !== "virtual" && v.state !== "waiting");
  $("requeue").classList.toggle("hidden", !v.requeue_allowed);
}

function schedule(delay) {
  clearTimeout(pollTimer);
  pollTimer = document.hidden ? null : setTimeout(refreshTicket, delay);
}

async function refreshTicket() {
  try {
    const v = await api("/api/phone/tickets/" + encodeURIComponent(ticketToken()));
    if (view && view.state !== "called" && v.state === "called" && navigator.vibrate) navigator.vibrate([300, 150, 300]);
    drawTicket(v);
    say("");
    $("updated").textContent = t("updated", { t: hhmmss(new Date()) });
    pollDelay = POLL_MS;
    if (TERMINAL.has(v.state) && !v.requeue_allowed) {
      clearTimeout(pollTimer);
      pollTimer = null;
      return;
    }
  } catch (err) {
    if (err.status === 404) { say(t("not_found")); return; }
    say(problem(err));
    pollDelay = Math.min(pollDelay * 2, MAX_POLL_MS);
  }
  schedule(pollDelay);
}

async function act(action) {
  if (action === "cancel" && !confirm(t("confirm_cancel"))) return;
  try {
    const v = await api("/api/phone/tickets/" + encodeURIComponent(ticketToken()) + "/" + action, { body: {} });
    if (v && v.number) drawTicket(v); else await refreshTicket();
    if (action === "requeue" || !TERMINAL.has(view.state)) schedule(POLL_MS);
  } catch (err) {
    say(problem(err));
  }
}

function startTicket() {
  $("ticket").classList.remove("hidden");
  loadQr().catch(() => {});  // fetched alongside the first answer, not after it: one round trip less over 3G
  $("cancel").addEventListener("click", () => act("cancel"));
  $("requeue").addEventListener("click", () => act("requeue"));
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { clearTimeout(pollTimer); pollTimer = null; }
    else if (!view || !TERMINAL.has(view.state) || view.requeue_allowed) refreshTicket();
  });
  refreshTicket();
}

// -- /phone/c/<code>: someone opened the check-in QR's link on a phone ----------------------------------------------
function startCheckin() {
  $("checkin").classList.remove("hidden");
  const code = decodeURIComponent(location.pathname.split("/")[3] || "").toUpperCase();
  if (!CODE.test(code)) { say(t("bad_link")); return; }
  $("checkin-code").textContent = code;
  drawQr($("checkin-qr"), location.origin + "/phone/c/" + code).catch(() => say(t("offline")));
}

$("lang").addEventListener("click", () => {
  lang = lang === "vi" ? "en" : "vi";
  store("phone.lang", lang);
  wordPage();
});
$("form").addEventListener("submit", sendCode);
$("resend").addEventListener("click", () => sendCode());
$("take").addEventListener("click", takeNumber);
wordPage();
const route = location.pathname.split("/")[2];
if (route === "t") startTicket(); else if (route === "c") startCheckin(); else startPick();
