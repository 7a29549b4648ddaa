// Bosco page behaviour: toasts, the phone navigation drawer, htmx error reporting.
// No inline scripts anywhere (the CSP forbids them); pages opt in through data- attributes.
(function () {
  "use strict";

  function toast(message, level) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (level || "info");
    el.setAttribute("role", level === "error" ? "alert" : "status");
    var text = document.createElement("span");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { el.remove(); });
    el.appendChild(text);
    el.appendChild(close);
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, level === "error" ? 9000 : 5000);
  }
  window.boscoToast = toast;

  document.addEventListener("DOMContentLoaded", function () {
    // Server-side messages arrive as data in the page, and leave as toasts.
    document.querySelectorAll("[data-toast]").forEach(function (node) {
      toast(node.getAttribute("data-toast"), node.getAttribute("data-level"));
      node.remove();
    });
    var toggle = document.querySelector("[data-nav-toggle]");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var app = document.querySelector(".app");
        var open = app.classList.toggle("nav-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    document.querySelectorAll("[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  });

  // A date typed into a range field (data-custom-period="<id of the period select>") makes the
  // period "custom". Listened to while capturing, so the select is set before htmx, listening on
  // the form, sends the filters.
  document.addEventListener("change", function (event) {
    var input = event.target;
    var id = input && input.getAttribute && input.getAttribute("data-custom-period");
    var period = id && document.getElementById(id);
    if (period) period.value = "custom";
  }, true);

  // A view can ask for a toast with the HX-Trigger header: {"toast": {"message": "...", "level": "success"}}.
  document.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    toast(detail.message || detail.value || "", detail.level);
  });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    toast(xhr && xhr.status === 403 ? "You do not have permission to do that." : "Something went wrong. Please try again.", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Bosco could not be reached. Check your connection.", "error");
  });
})();
