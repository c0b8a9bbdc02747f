// dailypapers: small progressive enhancements. Every page reads fine without this file.
(function () {
  "use strict";

  // The theme toggle is a CSS-only checkbox; remember its state between pages.
  var KEY = "dailypapers-theme-flipped";
  var box = document.getElementById("theme-switch");
  if (box) {
    try {
      box.checked = window.localStorage.getItem(KEY) === "1";
      box.addEventListener("change", function () {
        window.localStorage.setItem(KEY, box.checked ? "1" : "0");
      });
    } catch (e) { /* storage disabled: the toggle still works for this page */ }
  }

  // "Copy BibTeX" buttons: shown only when the clipboard API is there.
  function enableCopyButtons() {
    document.querySelectorAll("[data-copy-target]").forEach(enableCopyButton);
  }
  function enableCopyButton(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent).then(function () {
        var label = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enableCopyButtons);
  } else {
    enableCopyButtons();
  }
})();
