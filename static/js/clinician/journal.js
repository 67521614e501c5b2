// "Kopier til journal": copy the note's text to the clipboard (select it where the clipboard is refused).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var field = document.getElementById(button.dataset.copy);
      var status = button.parentElement.querySelector("[role=status]");
      button.addEventListener("click", function () {
        field.focus();
        field.select();
        var done = function () { if (status) status.textContent = button.dataset.copied; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
        } else {
          document.execCommand("copy");
          done();
        }
      });
    });
  });
})();
