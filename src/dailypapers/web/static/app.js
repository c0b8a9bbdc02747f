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
  // The other counts of the same paper on the page (the paper page's note and side box).
  function paperOf(form) {
    var match = /\/papers\/(.+)\/upvote$/.exec(form.getAttribute("action") || "");
    return match ? decodeURIComponent(match[1]) : null;
  }
  function plural(n, word) {
    return Number(n).toLocaleString("en-US") + " " + word + (Number(n) === 1 ? "" : "s");
  }
  function showCounts(paperId, state) {
    if (!paperId) { return; }
    document.querySelectorAll("[data-count-of]").forEach(function (el) {
      if (el.getAttribute("data-count-of") !== paperId) { return; }
      var kind = el.getAttribute("data-count");
      if (kind === "upvotes") { el.textContent = plural(state.upvotes, "upvote"); }
      if (kind === "local") { el.textContent = Number(state.localUpvotes).toLocaleString("en-US"); }
      if (kind === "yours") { el.hidden = !state.upvoted; }
    });
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
      showCounts(paperOf(form), state);
    }).catch(function () {
      form.submit();  // fall back to the plain form POST
    }).then(function () {
      if (button) { button.disabled = false; }
    });
  });

  // A disclosure named by the address (/papers/…#collections after saving) opens; the account
  // menu closes on a click elsewhere or Escape, as a menu does.
  function openTargetedDisclosure() {
    var id = window.location.hash.slice(1);
    var target = id ? document.getElementById(id) : null;
    if (target && target.tagName === "DETAILS") { target.open = true; }
  }
  function closeMenus(except) {
    document.querySelectorAll("details.account-menu[open]").forEach(function (menu) {
      if (menu !== except) { menu.open = false; }
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details.account-menu") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeMenus(null); }
  });
  window.addEventListener("hashchange", openTargetedDisclosure);

  // A thumbnail that cannot load (a remote one while offline or blocked) becomes the placeholder
  // page instead of a broken image. This file runs in <head>, before any image can fail.
  document.addEventListener("error", function (event) {
    var img = event.target;
    if (!img || img.tagName !== "IMG" || !img.classList.contains("thumb")) { return; }
    var placeholder = document.createElement("span");
    placeholder.className = img.className + " thumb-placeholder";
    placeholder.setAttribute("aria-hidden", "true");
    placeholder.title = "Thumbnail not available";
    img.replaceWith(placeholder);
  }, true);

  function ready() {
    enableCopyButtons();
    openTargetedDisclosure();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
