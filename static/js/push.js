// Settings → Push notifications: turn push on or off for this browser. "On" asks the
// browser's permission, subscribes with the server's VAPID key (data-vapid-key) through the
// service worker (static/js/sw.js), and saves the subscription at data-api; "off"
// unsubscribes and removes it. The settings section is re-rendered by htmx afterwards.
(function () {
  "use strict";

  function keyBytes(base64url) {
    var padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4);
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }
  function sameKey(sub, base64url) {
    var given = sub.options && sub.options.applicationServerKey;
    if (!given) return true;  // the browser does not say: keep it
    var a = new Uint8Array(given);
    var b = keyBytes(base64url);
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  function csrf() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
    } catch (e) {
      return "";
    }
  }
  function deviceName() {
    var ua = navigator.userAgent;
    var browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox"
      : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
    var system = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS"
      : /Mac OS X/.test(ua) ? "macOS" : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "";
    return system ? browser + " / " + system : browser;
  }
  function api(box, method, body, query) {
    return fetch(box.dataset.api + (query || ""), {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (r) {
      if (!r.ok && r.status !== 404) throw new Error("HTTP " + r.status);
      return r;
    });
  }
  function refresh() {
    // The list of devices comes from the server: re-render the section.
    if (window.htmx) {
      window.htmx.ajax("GET", window.location.pathname, { target: "#push-settings", select: "#push-settings", swap: "outerHTML" });
    }
  }

  function show(box, state) {
    var status = box.querySelector(".push-status");
    status.textContent = box.dataset["text" + state.charAt(0).toUpperCase() + state.slice(1)] || "";
    box.querySelector("[data-push-action=on]").hidden = !(state === "off" || state === "failed");
    box.querySelector("[data-push-action=off]").hidden = state !== "on";
    box.dataset.state = state;
  }

  function registration() {
    return navigator.serviceWorker.ready;
  }

  function check(box) {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      show(box, "unsupported");
      return;
    }
    if (Notification.permission === "denied") { show(box, "denied"); return; }
    registration().then(function (reg) {
      return reg.pushManager.getSubscription().then(function (sub) {
        if (sub && !sameKey(sub, box.dataset.vapidKey)) {
          // The server's key changed (new VAPID keys): subscribe again with the new one.
          return sub.unsubscribe().then(function () {
            return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.vapidKey) });
          });
        }
        return sub;
      });
    })
      .then(function (sub) {
        if (!sub) { show(box, "off"); return; }
        // Saved again each visit: the server may have dropped it (the push service said 410).
        return api(box, "POST", Object.assign(sub.toJSON(), { device: deviceName() }))
          .then(function () { show(box, "on"); });
      })
      .catch(function () { show(box, "failed"); });
  }

  function turnOn(box) {
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { show(box, permission === "denied" ? "denied" : "off"); return null; }
      return registration().then(function (reg) {
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.vapidKey) });
      }).then(function (sub) {
        return api(box, "POST", Object.assign(sub.toJSON(), { device: deviceName() }));
      }).then(function () { show(box, "on"); refresh(); });
    }).catch(function () { show(box, "failed"); });
  }

  function turnOff(box) {
    registration().then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (sub) {
        if (!sub) return null;
        var endpoint = sub.endpoint;
        return sub.unsubscribe().then(function () {
          return api(box, "DELETE", null, "?endpoint=" + encodeURIComponent(endpoint));
        });
      })
      .then(function () { show(box, "off"); refresh(); })
      .catch(function () { show(box, "failed"); });
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-push-action]");
    if (!button) return;
    var box = button.closest("#push-device");
    if (button.dataset.pushAction === "on") turnOn(box); else turnOff(box);
  });
  function setUp() {
    var box = document.getElementById("push-device");
    if (box && !box.dataset.state) check(box);
  }
  document.addEventListener("DOMContentLoaded", setUp);
  document.addEventListener("htmx:afterSettle", setUp);
  if (document.readyState !== "loading") setUp();
})();
