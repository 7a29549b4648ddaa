// Dashboard controls: the top bar's range/compare/filter form, the custom range, popovers.
// The form is a plain GET form (every setting lives in the URL); this script only makes it
// quicker: a changed select submits at once, empty or default values stay out of the URL,
// and the filter popover closes on Escape or a click outside. No inline scripts (CSP).
(function () {
  "use strict";

  function customRange(form) {
    return form.querySelector("[data-custom-range]");
  }

  function syncCustomRange(form) {
    var period = form.querySelector("select[name=period]");
    var range = customRange(form);
    if (!period || !range) return;
    var custom = period.value === "custom";
    range.hidden = !custom;
    range.querySelectorAll("input").forEach(function (input) { input.disabled = !custom; });
  }

  // Leave empty and default values out of the URL, so links stay short and canonical.
  function cleanSubmit(form) {
    form.querySelectorAll("select[data-default]").forEach(function (select) {
      if (select.value === select.getAttribute("data-default")) select.disabled = true;
    });
    form.querySelectorAll("input[type=search], input[type=hidden]").forEach(function (input) {
      if (input.value === "") input.disabled = true;
    });
  }

  function enableAll(form) {
    form.querySelectorAll("select, input").forEach(function (el) { el.disabled = false; });
    syncCustomRange(form);
  }

  function setup(form) {
    syncCustomRange(form);
    form.querySelectorAll("[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        syncCustomRange(form);
        if (select.name === "period" && select.value === "custom") {
          var from = form.querySelector("input[name=from]");
          if (from) from.focus();
          return; // wait for the dates and Apply
        }
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
    });
    form.addEventListener("submit", function () {
      cleanSubmit(form);
      // Restore the controls if the page is kept (bfcache) after navigating away.
      setTimeout(function () { enableAll(form); }, 0);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-dash-controls]").forEach(setup);
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-dash-controls]").forEach(enableAll);
  });

  // htmx requests from the campaign search form carry only non-empty values too.
  document.addEventListener("htmx:configRequest", function (event) {
    var source = event.detail.elt;
    if (!source || !source.closest || !source.closest("[data-clean-submit]")) return;
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (key) {
      if (params[key] === "" || (Array.isArray(params[key]) && params[key].length === 0)) delete params[key];
    });
  });

  // Popovers (<details data-popover>): close on Escape and on a click outside.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-popover][open]").forEach(function (el) {
      el.open = false;
      var summary = el.querySelector("summary");
      if (summary) summary.focus();
    });
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[data-popover][open]").forEach(function (el) {
      if (!el.contains(event.target)) el.open = false;
    });
  });
})();
