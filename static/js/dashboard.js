// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Refresh only while the tab is visible and the user is not in the middle of something:
  // a ticked checkbox, a focused field or an open confirmation would be lost by a swap.
  function busy(el) {
    if (document.visibilityState !== "visible") return true;
    if (el.querySelector("input[type=checkbox]:checked")) return true;
    if (el.querySelector("[data-pause-poll]")) return true;
    var active = document.activeElement;
    if (active && el.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) {
      return true;
    }
    return false;
  }

  document.addEventListener("htmx:confirm", function (evt) {
    // The 30-second poll fires without a triggering event; clicks and changes have one.
    var el = evt.detail.elt;
    if (el.hasAttribute("data-poll") && !evt.detail.triggeringEvent && busy(el)) {
      evt.preventDefault();
    }
  });

  // Filter URLs are bookmarked and shared: leave out the fields nobody filled in.
  document.addEventListener("htmx:configRequest", function (evt) {
    var data = evt.detail.formData;
    if (evt.detail.verb !== "get" || !data) return;
    Array.from(new Set(data.keys())).forEach(function (key) {
      if (data.getAll(key).every(function (v) { return v === ""; })) data.delete(key);
    });
  });

  // Coming back to the tab: refresh at once instead of waiting for the next tick.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible" || !window.htmx) return;
    document.querySelectorAll("[data-poll]").forEach(function (el) {
      if (!busy(el)) window.htmx.trigger(el, "refresh");
    });
  });

  // "No, keep it" in an inline confirmation just closes it.
  document.addEventListener("click", function (evt) {
    var dismiss = evt.target.closest("[data-dismiss]");
    if (!dismiss) return;
    var panel = dismiss.closest("#action-panel");
    if (panel) {
      evt.preventDefault();
      panel.innerHTML = "";
      var first = document.querySelector(".actions .btn");
      if (first) first.focus();
    }
  });

  // Move focus into a confirmation when it appears, for keyboard and screen-reader users.
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "action-panel") {
      var field = evt.detail.target.querySelector("h2, [data-confirm-submit]");
      if (field) {
        field.setAttribute("tabindex", "-1");
        field.focus();
      }
    }
  });

  // The merchant switcher submits itself when changed (its button is there without JS).
  document.addEventListener("change", function (evt) {
    if (evt.target.matches("select[data-autosubmit]")) evt.target.form.submit();
  });

  // On a phone the tabs scroll sideways: keep the chosen one in view after each swap.
  function showActiveTab() {
    var tab = document.querySelector(".tabs [aria-current]");
    if (tab && tab.parentElement.scrollWidth > tab.parentElement.clientWidth) {
      tab.parentElement.scrollLeft = tab.offsetLeft - 16;
    }
  }
  document.addEventListener("DOMContentLoaded", showActiveTab);
  document.addEventListener("htmx:afterSettle", showActiveTab);

  // Bulk selection: the bar appears only while something is selected, says how many, and
  // offers only the actions at least one selected order allows (each row lists its own in
  // data-actions). "Select all N matching" hands the choice to the server, which says on
  // the confirmation which orders can and cannot.
  function updateBulk(form) {
    var bar = form.querySelector("[data-bulk-bar]");
    if (!bar) return;
    var boxes = Array.from(form.querySelectorAll("input[name=selected]"));
    var picked = boxes.filter(function (b) { return b.checked; });
    var all = form.querySelector("[data-scope-all]");
    var everything = all && all.checked;
    var pageBox = form.querySelector("[data-select-page]");
    if (pageBox) {
      pageBox.checked = boxes.length > 0 && picked.length === boxes.length;
      pageBox.indeterminate = picked.length > 0 && picked.length < boxes.length;
    }
    bar.hidden = !picked.length && !everything;
    var count = bar.querySelector("[data-bulk-count]");
    var matching = form.querySelector("[data-bulk-all]");
    if (count) {
      count.textContent = everything
        ? "All orders matching this view are selected"
        : picked.length + " selected";
    }
    if (matching) matching.hidden = !everything && picked.length < boxes.length;
    var allowed = {};
    picked.forEach(function (b) {
      (b.getAttribute("data-actions") || "").split(" ").forEach(function (a) {
        if (a) allowed[a] = true;
      });
    });
    bar.querySelectorAll("[data-bulk-action]").forEach(function (btn) {
      btn.hidden = !everything && !allowed[btn.getAttribute("data-bulk-action")];
    });
  }
  function initBulk() {
    document.querySelectorAll("#bulk-form").forEach(updateBulk);
  }
  document.addEventListener("change", function (evt) {
    var form = evt.target.closest && evt.target.closest("#bulk-form");
    if (!form) return;
    if (evt.target.matches("[data-select-page]")) {
      form.querySelectorAll("input[name=selected]").forEach(function (b) {
        b.checked = evt.target.checked;
      });
      var all = form.querySelector("[data-scope-all]");
      if (all && !evt.target.checked) all.checked = false;
    }
    updateBulk(form);
  });
  document.addEventListener("DOMContentLoaded", initBulk);
  document.addEventListener("htmx:afterSettle", initBulk);

  document.documentElement.classList.add("js");
})();
