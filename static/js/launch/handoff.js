/* The login of the portal's own window, handed to the EHR's frame (portal/launch/handoff.py).
 *
 * In the frame ("Logg inn med HelseID i nytt vindu"): open the login in a window of our own and
 * wait for it to post its handoff code; then send the code with this frame's launch.
 * In that window, once logged in: post the code to the frame that opened it, to the portal's
 * own origin only (a window another site opened gets nothing), and close.
 * Without script the link still opens the login in a new window. */
(function () {
  "use strict";

  var TYPE = "maaledata.login";
  var origin = window.location.origin;

  var offered = document.querySelector("[data-handoff-code]");
  if (offered && window.opener && window.opener !== window) {
    window.opener.postMessage({ type: TYPE, code: offered.getAttribute("data-handoff-code") }, origin);
    window.close();
  }

  var link = document.querySelector("[data-login-window]");
  var form = document.querySelector("[data-handoff-form]");
  if (!link || !form) return;
  var popup = null;

  link.addEventListener("click", function (event) {
    popup = window.open(link.href, "maaledata-helseid");
    if (popup) event.preventDefault();
  });

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== origin || !popup || event.source !== popup) return;
    if (!data || data.type !== TYPE || typeof data.code !== "string") return;
    form.elements.code.value = data.code;
    form.submit();
  });
})();
