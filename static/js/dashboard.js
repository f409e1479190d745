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
    bar.toggleAttribute("data-selecting", picked.length > 0 || everything);
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

  // The point of no return counts down live: "in 3 h 12 min", then the page refreshes to
  // say the order is past it. The server wrote the same text; this keeps it current.
  function timeLeft(ms) {
    var minutes = Math.floor(ms / 60000);
    if (minutes < 1) return "less than a minute";
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days) return days + " d" + (hours ? " " + hours + " h" : "");
    if (hours) return hours + " h" + (mins ? " " + mins + " min" : "");
    return mins + " min";
  }
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("data-countdown")) - Date.now();
      if (isNaN(left)) return;
      if (left <= 0) {
        el.textContent = "now";
        var poll = el.closest("[data-poll]");
        if (poll && window.htmx && !el.hasAttribute("data-refreshed")) {
          el.setAttribute("data-refreshed", "");
          window.htmx.trigger(poll, "refresh");
        }
        return;
      }
      el.textContent = "in " + timeLeft(left);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  setInterval(tick, 15000);

  // New order: a running total from the chosen products' prices, lines removed in place,
  // and each field's problem said as soon as the field is left (the server checks again).
  function orderTotal(form) {
    var total = 0;
    var priced = false;
    form.querySelectorAll("[data-line]").forEach(function (row) {
      var select = row.querySelector("select");
      var qty = row.querySelector("input[type=number]");
      var out = row.querySelector("[data-line-total]");
      var option = select && select.selectedOptions[0];
      var price = option && option.getAttribute("data-price");
      var n = qty ? parseInt(qty.value, 10) : 0;
      if (price && n > 0) {
        var amount = parseFloat(price) * n;
        total += amount;
        priced = true;
        if (out) out.textContent = amount.toFixed(2);
      } else if (out) {
        out.textContent = "";
      }
    });
    var shown = form.querySelector("[data-order-total]");
    if (shown) shown.textContent = priced ? total.toFixed(2) : "—";
  }
  function refreshTotals() {
    document.querySelectorAll("[data-order-form]").forEach(orderTotal);
  }
  document.addEventListener("input", function (evt) {
    var form = evt.target.closest("[data-order-form]");
    if (form) orderTotal(form);
  });
  document.addEventListener("change", function (evt) {
    var form = evt.target.closest("[data-order-form]");
    if (form) orderTotal(form);
  });
  document.addEventListener("click", function (evt) {
    var remove = evt.target.closest("[data-remove-line]");
    if (!remove) return;
    var row = remove.closest("[data-line]");
    var form = remove.closest("[data-order-form]");
    // An emptied line is ignored by the server: clear it and take it off the page.
    row.querySelectorAll("select, input").forEach(function (el) { el.value = ""; });
    row.hidden = true;
    if (form) {
      orderTotal(form);
      var add = form.querySelector("[data-add-line]");
      if (add) add.focus();
    }
  });
  // A field's message appears when the person leaves it invalid, and goes as soon as what
  // they type makes it valid (not only when they leave it again).
  function checkField(el, typing) {
    if (!el.closest || !el.closest("[data-order-form]") || !el.checkValidity) return;
    var field = el.closest(".field");
    var error = field && field.querySelector("[data-field-error]");
    if (!error) return;
    if (typing && !field.classList.contains("has-error")) return;
    if (el.checkValidity()) {
      error.hidden = true;
      error.textContent = "";
      field.classList.remove("has-error");
      el.removeAttribute("aria-invalid");
    } else {
      error.hidden = false;
      error.textContent = el.validationMessage;
      field.classList.add("has-error");
      el.setAttribute("aria-invalid", "true");
    }
  }
  document.addEventListener("focusout", function (evt) { checkField(evt.target, false); });
  document.addEventListener("input", function (evt) { checkField(evt.target, true); });
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    var search = document.getElementById("product-search");
    if (search && elt && elt.closest && elt.closest("#product-results")) {
      search.dataset.pickedFrom = search.value;
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    refreshTotals();
    var target = evt.detail.target;
    if (target && target.id === "lines") {
      var results = document.getElementById("product-results");
      var search = document.getElementById("product-search");
      // Clear the search only if it still holds what the product was picked from: what the
      // person typed meanwhile stays.
      if (search && search.value === (search.dataset.pickedFrom || "")) {
        search.value = "";
        if (results) results.innerHTML = "";
      }
      var rows = target.querySelectorAll("[data-line]:not([hidden])");
      var last = rows[rows.length - 1];
      var focus = last && (last.querySelector("select") || last.querySelector("input"));
      if (focus) focus.focus();
    }
  });
  document.addEventListener("DOMContentLoaded", refreshTotals);
  document.addEventListener("keydown", function (evt) {
    // Enter in the product search searches; it does not send the half-filled order.
    if (evt.key === "Enter" && evt.target.id === "product-search") evt.preventDefault();
  });

  // Imports: drop a file on the zone (choosing one still works as usual).
  document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    var name = zone.querySelector("[data-dropzone-name]");
    function show() {
      if (input.files.length && name) name.textContent = "Chosen: " + input.files[0].name;
    }
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (evt) {
        evt.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (evt) {
      evt.preventDefault();
      if (evt.dataTransfer && evt.dataTransfer.files.length) {
        input.files = evt.dataTransfer.files;
        show();
      }
    });
  });
})();
