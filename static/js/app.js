// Arigato Board's own script: small, no inline handlers (the CSP forbids them).
// The CSRF token rides on every HTMX request from one place: <body hx-headers>.
// Forms without JavaScript carry it as a hidden field instead; everything works without this file.
(function () {
  "use strict";

  // Toasts (#toasts in base.html): the server sends an HTMX request's error there itself
  // (errors.http_error: HX-Retarget #toasts); the rest (no answer, a bare 500) get the
  // generic one, made from the same markup (<template id="toast-template">).
  var MAX_TOASTS = 3;
  function trimToasts(region) {
    while (region.children.length > MAX_TOASTS) region.firstElementChild.remove();
  }
  function toast() {
    var region = document.getElementById("toasts");
    var template = document.getElementById("toast-template");
    if (!region || !template) return;
    var msg = template.content.firstElementChild.cloneNode(true);
    msg.querySelector(".toast-text").textContent = region.dataset.errorText || "Error";
    region.appendChild(msg);
    trimToasts(region);
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    // htmx swaps no 4xx/5xx by default (responseHandling in base.html): one aimed at the
    // toast region is an answer meant to be shown.
    var target = evt.detail.target;
    if (target && target.id === "toasts") {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "toasts") trimToasts(evt.detail.target);
  });
  document.addEventListener("htmx:responseError", function () { toast(); });
  document.addEventListener("htmx:sendError", function () { toast(); });
  document.addEventListener("click", function (evt) {
    var close = evt.target.closest && evt.target.closest("[data-dismiss-toast]");
    if (close) close.closest(".toast").remove();
  });
  // Where the focus goes when a form comes back. With field errors: the first invalid field
  // ([aria-invalid=true], or the first control of an invalid fieldset), scrolled to the middle
  // of the screen — whether htmx swapped the form in or the server sent the whole page again
  // (a plain form such as the complaint form on /kpi/voices). Otherwise htmx has focused the
  // [autofocus] element of what it swapped in (the composer's title when it opens, its
  // confirmation after posting), which is brought fully on screen here.
  var CONTROLS = "input:not([type=hidden]), select, textarea, button";
  function firstInvalid(root) {
    var marked = root.querySelectorAll('[aria-invalid="true"]');
    for (var i = 0; i < marked.length; i++) {
      var field = marked[i].matches(CONTROLS) ? marked[i] : marked[i].querySelector(CONTROLS);
      if (field && field.getClientRects().length) return field;  // a visible one
    }
    return null;
  }
  function bringIntoView(el) {
    el.focus({ preventScroll: true });
    var box = el.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) el.scrollIntoView({ block: "center" });
  }
  document.addEventListener("htmx:afterSettle", function (evt) {
    var config = evt.detail.requestConfig;
    var root = evt.target;
    if (!config || config.verb === "get" || !root.querySelectorAll) return;
    var field = (root.matches('[aria-invalid="true"]') && root.matches(CONTROLS)) ? root : firstInvalid(root);
    if (field) { bringIntoView(field); return; }
    var active = document.activeElement;
    if (active && active.hasAttribute("autofocus") && root.contains(active)) bringIntoView(active);
  });
  document.addEventListener("DOMContentLoaded", function () {
    var field = firstInvalid(document.getElementById("main") || document.body);
    if (field && field.form) bringIntoView(field);
  });

  // A number the page shows in several places (a post's comment count on its card and in the
  // comments heading, the open reports): an HTMX answer sends the new values in its
  // HX-Trigger header as "counts-changed" (app/events.py HxEvents.counts, keys from Counts),
  // and every element marked data-count="key" shows it. htmx adds "elt" to the detail.
  document.addEventListener("counts-changed", function (evt) {
    var counts = evt.detail || {};
    Object.keys(counts).forEach(function (key) {
      if (key === "elt") return;
      document.querySelectorAll('[data-count="' + CSS.escape(key) + '"]').forEach(function (el) {
        el.textContent = String(counts[key]);
      });
    });
  });

  // Header menus (<details data-menu>, base.html): Enter/Space on the summary open and close
  // them natively; Escape closes the innermost open one and puts focus back on its summary; a
  // click elsewhere closes them. Whichever opens, any other open one closes.
  function openMenus() {
    return Array.prototype.slice.call(document.querySelectorAll("details[data-menu][open]"));
  }
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var menu = evt.target.closest && evt.target.closest("details[data-menu][open]");
    if (!menu) return;
    var inner = menu.querySelector("details[data-menu][open]");
    if (inner && getComputedStyle(inner.querySelector("summary")).display !== "none") menu = inner;
    menu.open = false;
    menu.querySelector("summary").focus();
    evt.preventDefault();
  });
  document.addEventListener("click", function (evt) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(evt.target)) menu.open = false;
    });
  });
  document.addEventListener("toggle", function (evt) {
    var menu = evt.target;
    if (!menu.matches || !menu.matches("details[data-menu]") || !menu.open) return;
    openMenus().forEach(function (other) {
      if (other !== menu && !other.contains(menu) && !menu.contains(other)) other.open = false;
    });
  }, true);

  // Escape closes the newest toast (not from a field or a dialog: Escape means something there).
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape" || evt.defaultPrevented) return;
    if (evt.target.closest && evt.target.closest("input, textarea, select, dialog")) return;
    var region = document.getElementById("toasts");
    if (region && region.lastElementChild) region.lastElementChild.remove();
  });

  // Confirm before destructive submits (data-confirm on the form).
  // A form that htmx submits asks once, in htmx:confirm below; this listener is for the rest.
  function byHtmx(form) {
    return !!window.htmx && ["hx-post", "hx-put", "hx-patch", "hx-delete"].some(function (a) {
      return form.hasAttribute(a);
    });
  }
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (byHtmx(form)) return;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("htmx:confirm", function (evt) {
    var form = evt.target.closest && evt.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) evt.preventDefault();
  });

  // Know-how template button: put the 課題 → 工夫 → 成果 headings into the text box, with the
  // cursor on the empty line under the first heading.
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-insert-template]");
    if (!btn) return;
    var box = document.getElementById(btn.dataset.target);
    if (!box) return;
    if (!box.value.trim()) {
      box.value = btn.dataset.insertTemplate;
      var at = box.value.indexOf("\n") + 1;
      box.setSelectionRange(at, at);
    }
    box.focus();
  });

  // Praised colleagues: pick a suggestion -> a chip with a hidden input; × removes it.
  // A chip shows the colleague's name; the employee number is its detail (as the server
  // renders it in posts/_composer.html).
  function addChip(code, name) {
    var chips = document.getElementById("praised-chips");
    if (!chips || chips.querySelector('input[value="' + CSS.escape(code) + '"]')) return;
    var chip = document.createElement("span");
    chip.className = "chip";
    chip.title = code;
    chip.appendChild(document.createTextNode((name || code) + " "));
    var detail = document.createElement("small");
    detail.className = "chip-code"; detail.textContent = code;
    var input = document.createElement("input");
    input.type = "hidden"; input.name = "praised"; input.value = code;
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "chip-remove"; remove.textContent = "×";
    remove.setAttribute("aria-label", (chips.dataset.removeLabel || "× {name}").replace("{name}", name || code));
    chip.appendChild(detail); chip.appendChild(input); chip.appendChild(remove);
    chips.appendChild(chip);
  }
  function pick(option) {
    var list = option.closest(".suggestions");
    if (list.id === "praised-suggestions") {
      addChip(option.dataset.code, option.dataset.name);
      var search = document.getElementById("praised-search");
      search.value = ""; search.setAttribute("aria-expanded", "false");
      list.innerHTML = "";
      search.focus();
    } else {
      insertMention(list, option.dataset.code);
    }
  }
  document.addEventListener("click", function (evt) {
    var remove = evt.target.closest(".chip-remove");
    if (remove) {
      remove.closest(".chip").remove();
      var search = document.getElementById("praised-search");
      if (search) search.focus();  // the removed button took the focus with it
      return;
    }
    var option = evt.target.closest(".suggestions [data-code]");
    if (option) pick(option);
  });
  // Keyboard: arrows move through suggestions, Enter picks, Escape closes.
  document.addEventListener("keydown", function (evt) {
    var field = evt.target;
    var list = field.id === "praised-search" ? document.getElementById("praised-suggestions")
      : (field.dataset && field.dataset.mentions ? field.parentElement.querySelector(".mention-suggestions") : null);
    if (!list) return;
    var options = Array.prototype.slice.call(list.querySelectorAll("[data-code]"));
    if (!options.length) return;
    var current = list.querySelector("[aria-selected=true]");
    var index = options.indexOf(current);
    if (evt.key === "ArrowDown" || evt.key === "ArrowUp") {
      evt.preventDefault();
      index = evt.key === "ArrowDown" ? Math.min(index + 1, options.length - 1) : Math.max(index - 1, 0);
      options.forEach(function (o) { o.setAttribute("aria-selected", "false"); });
      options[index].setAttribute("aria-selected", "true");
      field.setAttribute("aria-activedescendant", options[index].id);
    } else if (evt.key === "Enter" && current) {
      evt.preventDefault();
      pick(current);
    } else if (evt.key === "Escape") {
      list.innerHTML = "";
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.target.id === "praised-suggestions") {
      var search = document.getElementById("praised-search");
      if (search) search.setAttribute("aria-expanded", evt.target.children.length ? "true" : "false");
    }
  });

  // @mentions in comments: suggest colleagues for the word being typed after "@".
  var mentionTimer = null;
  function mentionToken(box) {
    var upto = box.value.slice(0, box.selectionStart);
    var m = /(^|\s)@([A-Za-z0-9_.-]*|[^\s@]{0,20})$/.exec(upto);
    return m ? m[2] : null;
  }
  function insertMention(list, code) {
    var box = list.parentElement.querySelector("textarea[data-mentions]");
    var upto = box.value.slice(0, box.selectionStart);
    var start = upto.lastIndexOf("@");
    box.value = box.value.slice(0, start) + "@" + code + " " + box.value.slice(box.selectionStart);
    list.innerHTML = "";
    box.focus();
  }
  document.addEventListener("input", function (evt) {
    var box = evt.target;
    if (!box.dataset || !box.dataset.mentions) return;
    var list = box.parentElement.querySelector(".mention-suggestions");
    var token = mentionToken(box);
    clearTimeout(mentionTimer);
    if (!token) { list.innerHTML = ""; return; }
    mentionTimer = setTimeout(function () {
      fetch(box.dataset.mentions + "?q=" + encodeURIComponent(token), { headers: { "HX-Request": "true" } })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { list.innerHTML = html; });
    }, 200);
  });
})();
