// Installable app: register the service worker (its address is on <body data-sw>, served
// from the root so that it controls every page), and on logging out turn push off for this
// browser (the next person on a shared PC must not see the previous one's notifications).
// Nothing here is needed to use the board.
(function () {
  "use strict";
  var url = document.body && document.body.dataset.sw;
  if (!url || !("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(url, { scope: "/" }).catch(function () {
    // Private windows and some managed browsers refuse workers: the site works without.
  });

  var LOGOUT_WAIT_MS = 2000;
  function csrf() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"];
    } catch (e) {
      return "";
    }
  }
  function dropSubscription(api) {
    if (!("PushManager" in window)) return Promise.resolve();
    return navigator.serviceWorker.getRegistration("/").then(function (reg) {
      return reg && reg.pushManager.getSubscription();
    }).then(function (sub) {
      if (!sub) return null;
      var endpoint = sub.endpoint;
      // Unsubscribed in the browser first: even if the server is not told, the push
      // service answers 410 to the next push and the server forgets it then.
      return sub.unsubscribe().then(function () {
        return fetch(api + "?endpoint=" + encodeURIComponent(endpoint), {
          method: "DELETE", credentials: "same-origin", keepalive: true,
          headers: { "X-CSRF-Token": csrf() },
        });
      });
    });
  }
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.dataset || !form.dataset.pushApi || form.dataset.pushDropped) return;
    evt.preventDefault();
    var sent = false;
    function logOut() {
      if (sent) return;
      sent = true;
      form.dataset.pushDropped = "1";
      form.submit();
    }
    setTimeout(logOut, LOGOUT_WAIT_MS);
    dropSubscription(form.dataset.pushApi).catch(function () { /* logging out matters more */ }).then(logOut);
  });
})();
