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
  // Upvote buttons are plain forms (they work without this file). With it, the vote is sent
  // with fetch and every button for that paper on the page updates in place, without a reload.
  function csrfToken() {
    return document.body ? document.body.getAttribute("data-csrf") || "" : "";
  }
  function showVote(form, state) {
    var button = form.querySelector("button");
    var count = form.querySelector(".vote-count");
    if (count) { count.textContent = Number(state.upvotes).toLocaleString("en-US"); }
    form.classList.toggle("voted", state.upvoted);
    if (button) {
      button.setAttribute("aria-pressed", state.upvoted ? "true" : "false");
      button.title = state.importedUpvotes + " imported from Hugging Face + " + state.localUpvotes +
        " here" + (state.upvoted ? " (including yours)" : "");
    }
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-vote]") || !window.fetch) { return; }
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) { button.disabled = true; }
    window.fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken() }
    }).then(function (response) {
      if (response.status === 401) {
        window.location.href = "/signin?next=" + encodeURIComponent(window.location.pathname);
        return null;
      }
      if (!response.ok) { throw new Error("vote failed: HTTP " + response.status); }
      return response.json();
    }).then(function (state) {
      if (!state) { return; }
      document.querySelectorAll("form[data-vote]").forEach(function (other) {
        if (other.getAttribute("action") === form.getAttribute("action")) { showVote(other, state); }
      });
    }).catch(function () {
      form.submit();  // fall back to the plain form POST
    }).then(function () {
      if (button) { button.disabled = false; }
    });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enableCopyButtons);
  } else {
    enableCopyButtons();
  }
})();
