// icetally dashboard: progressive enhancement only; every page works without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Keep shared URLs short: drop empty fields from GET forms before they submit.
  for (const form of document.querySelectorAll("form[method=get]")) {
    form.addEventListener("submit", () => {
      for (const el of form.elements) {
        if (el.name && !el.multiple && el.value === "") el.disabled = true;
      }
    });
  }
  // "Copy link": the absolute URL of the view, so it can be pasted anywhere.
  for (const btn of document.querySelectorAll("button.copy[data-copy]")) {
    btn.addEventListener("click", async () => {
      const url = new URL(btn.dataset.copy, window.location.href).href;
      try {
        await navigator.clipboard.writeText(url);
        btn.textContent = "Copied";
      } catch (err) {
        window.prompt("Copy this link", url);
      }
    });
  }
  // Show that a check is running (extraction and checking take a few seconds).
  const claims = document.getElementById("claims-form");
  if (claims) {
    claims.addEventListener("submit", () => {
      const b = document.getElementById("check");
      if (b) { b.textContent = "Checking…"; b.setAttribute("aria-busy", "true"); }
    });
  }
});
