/* Admin pages: sections marked data-refresh="SECONDS" reload themselves from the server; the announcement
   editor can add rows. No framework and no inline script (the pages' CSP forbids it). */
(function () {
  "use strict";

  function notice(section, text) {
    var note = document.createElement("p");
    note.className = "notice bad";
    note.setAttribute("role", "alert");
    note.textContent = text;
    section.parentNode.insertBefore(note, section);
  }

  function keepFresh(section) {
    var seconds = Number(section.getAttribute("data-refresh")) || 10;
    var timer = window.setInterval(function () {
      fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.redirected && response.url.indexOf("/admin/login") !== -1) {
            window.clearInterval(timer);
            notice(section, "Phiên đăng nhập đã hết hạn. Hãy tải lại trang để đăng nhập lại.");
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null) {
            return;
          }
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(section.id);
          if (fresh) {
            section.innerHTML = fresh.innerHTML;
            section.classList.remove("stale");
          }
        })
        .catch(function () {
          section.classList.add("stale");  // the backend is unreachable; the next tick tries again
        });
    }, seconds * 1000);
  }

  function addRow() {
    var rows = document.getElementById("rows");
    var copy = rows.lastElementChild.cloneNode(true);
    copy.querySelectorAll("textarea, input").forEach(function (input) {
      input.value = "";
    });
    copy.querySelector(".num").textContent = String(rows.children.length + 1);
    rows.appendChild(copy);
    copy.querySelector("textarea").focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(keepFresh);
    var add = document.getElementById("add-row");
    if (add) {
      add.addEventListener("click", addRow);
    }
  });
})();
