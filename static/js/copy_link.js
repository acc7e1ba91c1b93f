/* The confirmation page's "copy the private link" button: copies the text of the element named by
   the button's data-copy-from, and says whether it worked. Without JavaScript the button stays
   hidden and the link can be copied by hand. */
(function () {
  "use strict";

  function say(button, text) {
    var status = button.parentNode.querySelector(".copy-status");
    if (status) { status.textContent = text; }
  }

  function copyByHand(text) {
    // Older WebViews (WeChat's among them) lack the asynchronous clipboard API.
    var field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.style.position = "fixed";
    field.style.opacity = "0";
    document.body.appendChild(field);
    field.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    document.body.removeChild(field);
    return copied;
  }

  document.querySelectorAll("button[data-copy-from]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy-from"));
    if (!source) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      var done = function () { say(button, button.getAttribute("data-copied")); };
      var failed = function () {
        if (copyByHand(text)) { done(); } else { say(button, button.getAttribute("data-failed")); }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, failed);
      } else {
        failed();
      }
    });
  });
}());
