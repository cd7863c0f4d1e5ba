/* voiceagent web chat: <script src="https://AGENT/webchat/widget.js" data-key="SITE_KEY" async></script> */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__voiceagentChat) { return; }
  window.__voiceagentChat = true;
  var key = script.getAttribute("data-key") || "";
  var base = new URL(script.src).origin + "/webchat/api";
  var title = script.getAttribute("data-title") || "Chat with us";
  var openAtLoad = script.getAttribute("data-open") === "true";
  var UNAVAILABLE = "The chat is unavailable right now. Please call the clinic.";
  var visitor = null;
  try {
    visitor = localStorage.getItem("voiceagent-visitor");
    if (!visitor) {
      visitor = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
      localStorage.setItem("voiceagent-visitor", visitor);
    }
  } catch (e) { visitor = String(Date.now()); }
  var sessionId = null;
  var busy = false;

  var css = "#va-chat-btn{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:24px;padding:12px 18px;background:#1f6feb;color:#fff;font:600 15px system-ui,sans-serif;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)}" +
    "#va-chat{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 100px);display:none;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.25);font:14px system-ui,sans-serif;color:#111}" +
    "#va-chat header{padding:10px 12px;background:#1f6feb;color:#fff;border-radius:12px 12px 0 0;display:flex;justify-content:space-between;align-items:center}" +
    "#va-chat header button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}" +
    "#va-notice{padding:8px 12px;background:#fff8c5;font-size:12px}" +
    "#va-log{flex:1;overflow-y:auto;padding:10px}" +
    ".va-msg{margin:6px 0;padding:8px 10px;border-radius:10px;max-width:85%;white-space:pre-wrap;word-wrap:break-word}" +
    ".va-agent{background:#f0f2f5}.va-me{background:#d8e6ff;margin-left:auto}" +
    "#va-form{display:flex;border-top:1px solid #ddd}#va-input{flex:1;border:0;padding:10px;font:inherit}#va-send{border:0;background:none;color:#1f6feb;font-weight:600;padding:0 12px;cursor:pointer}";
  var style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);

  var button = document.createElement("button");
  button.id = "va-chat-btn";
  button.type = "button";
  button.textContent = title;
  var panel = document.createElement("div");
  panel.id = "va-chat";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  panel.innerHTML = '<header><span></span><button type="button" aria-label="Close">\u00d7</button></header>' +
    '<div id="va-notice" role="note"></div><div id="va-log" aria-live="polite"></div>' +
    '<form id="va-form"><input id="va-input" maxlength="1000" autocomplete="off" aria-label="Your message" placeholder="Type a message"><button id="va-send" type="submit">Send</button></form>';
  panel.querySelector("header span").textContent = title;
  document.body.appendChild(button);
  document.body.appendChild(panel);
  var log = panel.querySelector("#va-log");
  var input = panel.querySelector("#va-input");

  function add(text, who) {
    if (!text) { return; }
    var div = document.createElement("div");
    div.className = "va-msg " + (who === "me" ? "va-me" : "va-agent");
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
  }

  function call(path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-Webchat-Key": key, "X-Webchat-Visitor": visitor},
      body: JSON.stringify(body || {})
    }).catch(function () {
      throw new Error(UNAVAILABLE);
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { throw new Error(data.detail || UNAVAILABLE); }
        return data;
      });
    });
  }

  function start() {
    busy = true;
    return call("/sessions").then(function (data) {
      sessionId = data.session_id;
      panel.querySelector("#va-notice").textContent = data.notice;
      add(data.reply, "agent");
    }).catch(function (e) { add(e.message, "agent"); }).then(function () { busy = false; });
  }

  function toggle() {
    var open = panel.style.display === "flex";
    panel.style.display = open ? "none" : "flex";
    if (!open) {
      input.focus();
      if (!sessionId && !busy) { start(); }
    }
  }
  button.addEventListener("click", toggle);
  if (openAtLoad) { toggle(); }
  panel.querySelector("header button").addEventListener("click", function () {
    panel.style.display = "none";
  });
  window.addEventListener("pagehide", function () {
    if (sessionId && navigator.sendBeacon) {
      navigator.sendBeacon(base + "/sessions/" + sessionId + "/end?key=" + encodeURIComponent(key));
    }
  });
  panel.querySelector("#va-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text || busy || !sessionId) { return; }
    input.value = "";
    add(text, "me");
    busy = true;
    call("/sessions/" + sessionId + "/messages", {text: text}).then(function (data) {
      add(data.reply, "agent");
      if (data.ended) { sessionId = null; }
    }).catch(function (e) { add(e.message, "agent"); }).then(function () { busy = false; });
  });
})();
