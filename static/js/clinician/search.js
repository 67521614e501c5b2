/* Search form: friendly, immediate checking of the national identity number, and a reason
 * filled from quick picks. The server checks everything again; this only helps. */
(function () {
  "use strict";

  var K1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
  var K2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

  function weighted(digits, weights) {
    var sum = 0;
    for (var i = 0; i < weights.length; i++) sum += digits[i] * weights[i];
    return sum;
  }

  // "ok", "checksum" or "hnr". Control digits as sharing/identifiers.py: the current k1 rule
  // and the one from 2032 ((s1 + k1) mod 11 in 0..3); FH-numbers (first digit 8 or 9) the current one.
  function check(text) {
    var d = text.split("").map(Number);
    var fhn = d[0] >= 8;
    var r1 = (weighted(d, K1) + d[9]) % 11;
    var k2 = (11 - (weighted(d, K2) % 11)) % 11;
    if (!(fhn ? r1 === 0 : r1 <= 3) || k2 === 10 || k2 !== d[10]) return "checksum";
    var month = Number(text.slice(2, 4));
    if (!fhn && month > 40 && month <= 52) return "hnr";
    return "ok";
  }

  function setup(input) {
    var field = input.closest(".field");
    var live = document.getElementById(input.id + "_live");
    var msg = input.dataset;

    function show(text, state) {
      live.textContent = text;
      field.classList.toggle("field--error", state === "error");
      field.classList.toggle("field--ok", state === "ok");
      if (state === "error") input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }

    function evaluate(final) {
      var text = input.value.replace(/[\s.]+/g, "");
      if (text === "") return show("", "");
      if (/\D/.test(text)) return show(msg.msgDigits, "error");
      if (text.length > 11) return show(msg.msgLong, "error");
      if (text.length < 11) {
        return final ? show(msg.msgCount.replace("%(n)s", text.length), "error") : show("", "");
      }
      var result = check(text);
      if (result === "checksum") return show(msg.msgChecksum, "error");
      if (result === "hnr") return show(msg.msgHnr, "error");
      return show(msg.msgOk, "ok");
    }

    input.addEventListener("input", function () { evaluate(false); });
    input.addEventListener("blur", function () { evaluate(true); });
  }

  // A quick pick fills the reason (the clinician may add to it); another pick replaces a reason
  // that is still only the previous pick's words. Without this script the pick stands as the
  // reason when the field is left empty (portal/clinician/forms.py).
  function quickPicks(picks, reason) {
    var filled = "";
    picks.forEach(function (pick) {
      pick.addEventListener("change", function () {
        if (!pick.checked) return;
        var label = pick.closest("label").textContent.trim();
        if (reason.value.trim() === "" || reason.value === filled) {
          reason.value = label;
          filled = label;
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var input = document.querySelector("[data-national-id]");
    if (input) setup(input);
    var reason = document.querySelector("[data-reason]");
    var picks = Array.prototype.slice.call(document.querySelectorAll("[data-reason-code]"));
    if (reason && picks.length) quickPicks(picks, reason);
  });
})();
