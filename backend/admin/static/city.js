/* The city operations view: draws the centres' table (/admin/city) or one centre's drill-down (/admin/city/{id})
   from the figures the page arrived with (#city-data), then follows /admin/city/events (Server-Sent Events).
   The server sends fresh figures at least every 15 s: silence for SILENT_MS means the connection is dead even if the
   socket looks open, so the page marks its figures out of date and connects again. EventSource reconnects by
   itself after a dropped stream; when the server answers with an error it gives up (CLOSED) and this script opens
   a new one with back-off, after checking the admin session is still alive. Text goes in with textContent only. */
(function () {
  "use strict";

  var FLAG_TEXT = { red: "Vượt mục tiêu", amber: "Sắp vượt", green: "Đạt", stale: "Mất kết nối" };
  var FLAG_RANK = { red: 0, amber: 1, stale: 2, green: 3 };
  var WEEKDAYS = ["Chủ nhật", "thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy"];
  var SILENT_MS = 40000;
  var MAX_BACKOFF_MS = 30000;
  var number = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 1 });
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function minutes(value) { return value === null || value === undefined ? "—" : number.format(Math.round(value)); }
  function percent(rate) { return rate === null || rate === undefined ? "—" : number.format(rate * 100) + " %"; }
  function clock(iso) { return iso ? iso.slice(11, 19) : "—"; }  // local ISO times: HH:MM:SS as written
  function chip(flag) { return el("span", "chip " + flag, FLAG_TEXT[flag]); }

  function dayName(iso) {
    var parts = iso.split("-").map(Number);
    var day = new Date(parts[0], parts[1] - 1, parts[2]);
    return WEEKDAYS[day.getDay()] + " " + iso.slice(8, 10) + "/" + iso.slice(5, 7) + "/" + iso.slice(0, 4);
  }

  // A wait cell: red past the target, amber from 80 % of it (the same rule as the flags).
  // The first cells of a centre's row and of a service's alike: name, flag, waiting, from phones, the two waits.
  function figuresRow(figures, name, target) {
    var tr = el("tr", "flag-" + figures.flag);
    tr.appendChild(name);
    var flag = el("td");
    flag.appendChild(chip(figures.flag));
    tr.appendChild(flag);
    tr.appendChild(el("td", "num waiting", figures.waiting));
    tr.appendChild(el("td", "num", figures.virtual_waiting));
    tr.appendChild(waitCell(figures.wait_now_min, target));
    tr.appendChild(waitCell(figures.wait_p90_min, target));
    return tr;
  }

  function waitCell(value, target) {
    var cell = el("td", "num", minutes(value));
    if (value !== null && value !== undefined) {
      if (value > target) cell.classList.add("over");
      else if (value >= 0.8 * target) cell.classList.add("near");
    }
    return cell;
  }

  function kioskCell(entry) {
    var cell = el("td", "kiosks");
    var total = entry.kiosks_online + entry.kiosks_offline.length;
    cell.appendChild(el("span", "count", entry.kiosks_online + "/" + total + " hoạt động"));
    entry.kiosks_offline.forEach(function (id) { cell.appendChild(el("span", "chip red small", id)); });
    entry.kiosks_out_of_paper.forEach(function (id) { cell.appendChild(el("span", "chip amber small", "Hết giấy " + id)); });
    return cell;
  }

  // -- the live connection ------------------------------------------------------------------------------------------
  function follow(url, events) {
    var source = null, lastHeard = Date.now(), backoffMs = 1000, ended = false;

    function lost(text) {
      $("city-lost").textContent = text;
      $("city-lost").classList.remove("hidden");
      document.body.classList.add("stale");
      $("city-live").classList.add("off");
    }

    function heard() {
      lastHeard = Date.now();
      $("city-lost").classList.add("hidden");
      document.body.classList.remove("stale");
      $("city-live").classList.remove("off");
    }

    function end(text) {
      ended = true;
      if (source) source.close();
      lost(text);
    }

    function connect() {
      if (source) source.close();
      source = new EventSource(url);
      source.addEventListener("open", function () { backoffMs = 1000; });
      Object.keys(events).forEach(function (name) {
        source.addEventListener(name, function (event) { heard(); events[name](JSON.parse(event.data)); });
      });
      source.addEventListener("logged_out", function () {
        end("Phiên đăng nhập đã hết hạn. Hãy tải lại trang để đăng nhập lại.");
      });
      source.addEventListener("unavailable", function (event) { lost(JSON.parse(event.data).message); });
      source.addEventListener("error", function () {
        if (source.readyState === EventSource.CLOSED && !ended) retry();
      });
    }

    function retry() {
      lost("Mất kết nối với máy chủ lúc " + new Date(lastHeard).toLocaleTimeString("vi-VN") + "; đang kết nối lại…");
      fetch(window.location.href, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
        if (response.redirected && response.url.indexOf("/admin/login") !== -1) {
          end("Phiên đăng nhập đã hết hạn. Hãy tải lại trang để đăng nhập lại.");
        }
      }).catch(function () { /* the server is unreachable: keep trying */ });
      window.setTimeout(function () { if (!ended) connect(); }, backoffMs);
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    }

    window.setInterval(function () {
      if (!ended && Date.now() - lastHeard > SILENT_MS) {
        lastHeard = Date.now();  // one reconnection per silent period
        lost("Không nhận được số liệu mới; đang kết nối lại…");
        connect();
      }
    }, 5000);
    connect();
  }

  // -- /admin/city: every centre ------------------------------------------------------------------------------------
  var SORTS = {
    flag: function (a, b) { return FLAG_RANK[a.flag] - FLAG_RANK[b.flag] || byName(a, b); },
    waiting: function (a, b) { return b.waiting - a.waiting || byName(a, b); },
    wait: function (a, b) { return wait(b) - wait(a) || byName(a, b); },
    name: byName
  };
  function byName(a, b) { return a.name.localeCompare(b.name, "vi") || a.centre.localeCompare(b.centre); }
  function wait(entry) { return Math.max(entry.wait_now_min === null ? -1 : entry.wait_now_min,
                                         entry.wait_p90_min === null ? -1 : entry.wait_p90_min); }

  function cityPage(snapshot) {
    var sort = new URLSearchParams(window.location.search).get("sort");
    if (!SORTS[sort]) sort = "flag";

    function row(entry) {
      var name = el("td", "name");
      var link = el("a", null, entry.name);
      link.href = "/admin/city/" + encodeURIComponent(entry.centre);
      name.appendChild(link);
      name.appendChild(el("small", null, entry.centre));
      var tr = figuresRow(entry, name, entry.target_wait_min);
      tr.setAttribute("data-centre", entry.centre);
      tr.appendChild(el("td", "num", entry.target_wait_min));
      tr.appendChild(el("td", "num", entry.served + " / " + entry.issued));
      tr.appendChild(el("td", "num", entry.no_shows));
      tr.appendChild(el("td", "num", entry.counters_open));
      tr.appendChild(kioskCell(entry));
      tr.appendChild(el("td", "num", entry.dossiers_today));
      tr.appendChild(el("td", "num", percent(entry.on_time_rate)));
      tr.appendChild(el("td", "num", clock(entry.reported_at)));
      return tr;
    }

    function render(data) {
      snapshot = data;
      var centres = data.centres.slice().sort(SORTS[sort]);
      $("city-rows").replaceChildren.apply($("city-rows"), centres.map(row));
      $("city-empty").classList.toggle("hidden", centres.length > 0);
      var count = function (flag) { return centres.filter(function (c) { return c.flag === flag; }).length; };
      var waiting = centres.reduce(function (sum, c) { return sum + c.waiting; }, 0);
      $("city-summary").textContent = centres.length + " trung tâm · " + count("red") + " vượt mục tiêu · " +
        count("amber") + " sắp vượt · " + count("stale") + " mất kết nối · " + waiting + " người đang chờ";
      $("city-updated").textContent = clock(data.at);
    }

    document.querySelectorAll("[data-sort]").forEach(function (button) {
      button.addEventListener("click", function () {
        sort = button.getAttribute("data-sort");
        document.querySelectorAll("[data-sort]").forEach(function (other) {
          other.setAttribute("aria-pressed", String(other === button));
        });
        var url = new URL(window.location.href);
        url.searchParams.set("sort", sort);
        window.history.replaceState(null, "", url);
        render(snapshot);
      });
    });
    // "changes": only the entries that differ from what the page has, and the centres gone
    function merge(changes) {
      var gone = new Set(changes.removed), fresh = new Map(changes.centres.map(function (c) { return [c.centre, c]; }));
      var centres = snapshot.centres.filter(function (c) { return !gone.has(c.centre) && !fresh.has(c.centre); });
      render({ at: changes.at, version: changes.version, centres: centres.concat(changes.centres) });
    }

    render(snapshot);
    follow("/admin/city/events", { city: render, changes: merge });
  }

  // -- /admin/city/{centre}: one centre -----------------------------------------------------------------------------
  function centrePage(drill) {
    var charts = {};
    var TODAY = "#a3111b", BEFORE = "#7b8494", NOW = "#d9822b", TARGET = "#1d2330";

    function tile(label, value, extra) {
      var box = el("div", "tile");
      box.appendChild(el("div", "label", label));
      box.appendChild(el("div", "value", value));
      if (extra) box.appendChild(extra);
      return box;
    }

    function serviceRow(service, target) {
      var name = el("td", "name", service.name);
      name.appendChild(el("small", null, service.code));
      var tr = figuresRow(service, name, target);
      ["issued", "served", "no_shows", "counters_open"].forEach(function (key) {
        tr.appendChild(el("td", "num", service[key]));
      });
      return tr;
    }

    function series(key, which) {
      return drill.hours.map(function (hour) { return hour[which] ? hour[which][key] : null; });
    }

    function chartData() {
      var before = dayName(drill.compare_day);
      var target = drill.hours.map(function () { return drill.centre.target_wait_min; });
      return {
        tickets: { labels: drill.hours.map(function (h) { return h.label; }), datasets: [
          { label: "Hôm nay", data: series("issued", "today"), backgroundColor: TODAY },
          { label: before, data: series("issued", "compare"), backgroundColor: BEFORE }] },
        waits: { labels: drill.hours.map(function (h) { return h.label; }), datasets: [
          { label: "Chờ P90 hôm nay", data: series("wait_p90_min", "today"), borderColor: TODAY,
            backgroundColor: TODAY, borderWidth: 4 },
          { label: "Chờ P90 " + before, data: series("wait_p90_min", "compare"), borderColor: BEFORE,
            backgroundColor: BEFORE, borderWidth: 3, borderDash: [8, 6] },
          { label: "Chờ dự kiến cao nhất hôm nay", data: series("wait_now_max", "today"), borderColor: NOW,
            backgroundColor: NOW, borderWidth: 3 },
          { label: "Mục tiêu", data: target, borderColor: TARGET, borderWidth: 2, borderDash: [3, 4],
            pointRadius: 0 }] }
      };
    }

    function drawCharts() {
      var data = chartData();
      if (charts.tickets) {
        charts.tickets.data = data.tickets;
        charts.waits.data = data.waits;
        charts.tickets.update("none");
        charts.waits.update("none");
        return;
      }
      window.Chart.defaults.font.size = 16;
      window.Chart.defaults.color = "#1d2330";
      var common = { animation: false, responsive: true, maintainAspectRatio: false,
                     plugins: { legend: { position: "bottom" } } };
      charts.tickets = new window.Chart($("chart-tickets"), { type: "bar", data: data.tickets,
        options: Object.assign({ scales: { y: { beginAtZero: true, title: { display: true, text: "phiếu" } } } },
                               common) });
      charts.waits = new window.Chart($("chart-waits"), { type: "line", data: data.waits,
        options: Object.assign({ spanGaps: false, scales: { y: { beginAtZero: true,
          title: { display: true, text: "phút" } } } }, common) });
    }

    function render(data) {
      drill = data;
      var entry = data.centre;
      $("centre-name").textContent = entry.name;
      $("centre-flag").className = "chip " + entry.flag;
      $("centre-flag").textContent = FLAG_TEXT[entry.flag];
      $("city-updated").textContent = clock(entry.reported_at);
      var offline = el("div", "kiosk-list");
      entry.kiosks_offline.forEach(function (id) { offline.appendChild(el("span", "chip red small", id)); });
      entry.kiosks_out_of_paper.forEach(function (id) {
        offline.appendChild(el("span", "chip amber small", "Hết giấy " + id));
      });
      $("centre-tiles").replaceChildren(
        tile("Đang chờ", entry.waiting, entry.virtual_waiting ? el("small", null, "+" + entry.virtual_waiting + " qua ĐT") : null),
        tile("Chờ dự kiến", minutes(entry.wait_now_min) + " phút"),
        tile("Chờ P90 hôm nay", minutes(entry.wait_p90_min) + " phút"),
        tile("Mục tiêu", entry.target_wait_min + " phút"),
        tile("Phục vụ / cấp số", entry.served + " / " + entry.issued),
        tile("Vắng mặt", entry.no_shows),
        tile("Quầy mở", entry.counters_open),
        tile("Kiosk hoạt động", entry.kiosks_online + "/" + (entry.kiosks_online + entry.kiosks_offline.length), offline),
        tile("Hồ sơ hôm nay", entry.dossiers_today),
        tile("Đúng hạn 30 ngày", percent(entry.on_time_rate)));
      $("service-rows").replaceChildren.apply($("service-rows"), entry.services.map(function (service) {
        return serviceRow(service, entry.target_wait_min);
      }));
      document.querySelectorAll(".compare-day").forEach(function (span) { span.textContent = dayName(data.compare_day); });
      drawCharts();
    }

    render(drill);
    follow("/admin/city/events?centre=" + encodeURIComponent(drill.centre.centre), { centre: render });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var data = JSON.parse($("city-data").textContent);
    if ($("city-rows")) cityPage(data);
    else centrePage(data);
  });
})();
