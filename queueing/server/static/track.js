// A citizen's phone page (opened from the ticket's QR): their number, people ahead, wait, and the counter when
// called. The server's tracking view carries no personal data; the page keeps refreshing itself.
"use strict";

const REFRESH_MS = 15000;
const CALLED_REFRESH_MS = 5000;
const $ = id => document.getElementById(id);
const ticketId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
let lastState = null;

function describe(t) {
  switch (t.state) {
    case "waiting":
      return [el("strong", {}, t.people_ahead === 0 ? "Bạn là người tiếp theo" : "Còn " + t.people_ahead + " người trước bạn"),
        "Thời gian chờ dự kiến: " + minutesText(t.estimated_wait_s)];
    case "called":
      return ["Số của bạn đã được gọi đến", el("strong", {}, "quầy " + t.counter), "Mời bạn đến quầy ngay."];
    case "serving":
      return ["Bạn đang được phục vụ tại", el("strong", {}, "quầy " + t.counter)];
    case "done":
      return ["Đã hoàn thành. Cảm ơn bạn!"];
    case "no_show":
      return ["Số của bạn đã được gọi nhưng bạn vắng mặt.", "Vui lòng liên hệ quầy hướng dẫn."];
    case "transferred":
      return ["Hồ sơ của bạn đã được chuyển sang dịch vụ khác."];
    default:
      return [t.state];
  }
}

async function refresh() {
  let delay = REFRESH_MS;
  try {
    const t = await api("/api/track/" + encodeURIComponent(ticketId));
    $("number").textContent = t.number;
    $("service").textContent = t.service_name;
    const state = $("state");
    state.className = "panel state " + t.state;
    state.replaceChildren(...describe(t).map(part => typeof part === "string" ? el("div", {}, part) : part));
    if (t.state === "called" && lastState !== "called" && navigator.vibrate) navigator.vibrate([300, 150, 300]);
    lastState = t.state;
    $("network").textContent = "";
    $("updated").textContent = "Cập nhật lúc " + hhmmss(new Date()) + ".";
    if (t.state === "called" || t.state === "serving") delay = CALLED_REFRESH_MS;
    if (t.state === "done" || t.state === "no_show") return;
  } catch (err) {
    if (err.status === 404) {
      $("state").textContent = "Không tìm thấy số này. Nếu vé vừa được in khi mạng gián đoạn, vui lòng thử lại sau ít phút.";
    } else {
      $("network").textContent = "Không kết nối được máy chủ, đang thử lại…";
    }
  }
  setTimeout(refresh, delay);
}

refresh();
