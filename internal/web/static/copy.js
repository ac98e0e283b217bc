// Copy buttons: a button with data-copy="ID" copies the text of the element with that id.
(function () {
  "use strict";
  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallback(text); });
    }
    return fallback(text);
  }
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("button[data-copy]");
    if (!btn) { return; }
    var el = document.getElementById(btn.getAttribute("data-copy"));
    if (!el) { return; }
    var label = btn.getAttribute("data-label") || btn.textContent;
    btn.setAttribute("data-label", label);
    var status = document.getElementById("copy-status");
    copy(el.textContent.trim()).then(function () {
      btn.textContent = "Copied";
      btn.setAttribute("data-copied", "true");
      if (status) { status.textContent = "Copied to the clipboard."; }
    }, function () {
      btn.textContent = "Select and copy by hand";
      btn.setAttribute("data-copied", "false");
      if (status) { status.textContent = "The browser refused to copy: select the text and copy it by hand."; }
    });
    setTimeout(function () { btn.textContent = label; }, 4000);
  });
})();
