(function () {
  const body = document.body;
  const base = body.dataset.base;
  const csrf = body.dataset.csrf;
  const idle = parseInt(body.dataset.idle || "0", 10);
  if (csrf && idle > 0) {
    // the server signs an idle session out; reloading then shows the sign-in page
    setTimeout(() => location.reload(), (idle + 5) * 1000);
  }
  async function post(path, payload) {
    const response = await fetch(base + "api/" + path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(payload),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const detail = data && data.detail;
      const text = typeof detail === "string" ? detail
        : (detail && detail.reason) ? detail.reason
        : Array.isArray(detail) ? detail.map(d => d.msg).join("; ") : response.statusText;
      throw new Error(text);
    }
    return data;
  }
  window.workspacePost = post;
  function payloadOf(form) {
    const out = {};
    for (const [key, value] of new FormData(form).entries()) {
      if (value === "") continue;
      if (key.startsWith("patient.")) {
        out.patient = out.patient || {};
        out.patient[key.slice(8)] = value;
      } else {
        out[key] = value;
      }
    }
    return out;
  }
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.dataset.api) return;
    event.preventDefault();
    const error = form.querySelector(".form-error");
    if (error) error.textContent = "";
    if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
    const button = form.querySelector("button[type=submit], button:not([type])");
    if (button) button.disabled = true;
    try {
      await post(form.dataset.api, payloadOf(form));
      if (form.dataset.done) { location.href = form.dataset.done; } else { location.reload(); }
    } catch (e) {
      if (error) { error.textContent = e.message; } else { alert(e.message); }
      if (button) button.disabled = false;
    }
  });
  // a lost reason is asked for exactly when the chosen stage is "lost"
  function syncLost(select) {
    const form = select.form;
    const reason = form.querySelector("select[name=lost_reason]");
    if (!reason) return;
    const lost = select.value === "lost";
    (reason.closest("label") || reason).hidden = !lost;
    reason.required = lost;
    if (!lost) reason.value = "";
  }
  document.querySelectorAll("select[name=stage]").forEach((s) => {
    syncLost(s);
    s.addEventListener("change", () => syncLost(s));
  });
  // calendar: a free slot opens the booking dialog, an appointment the change dialog
  document.querySelectorAll("button.slot").forEach((b) => b.addEventListener("click", () => {
    const dialog = document.getElementById("book");
    dialog.querySelector("[name=start]").value = b.dataset.start;
    dialog.querySelector("[name=provider_id]").value = b.dataset.provider;
    dialog.querySelector(".when").textContent = b.dataset.label;
    dialog.querySelector(".form-error").textContent = "";
    dialog.showModal();
  }));
  document.querySelectorAll(".appt[data-id]").forEach((a) => a.addEventListener("click", () => {
    const dialog = document.getElementById("change");
    if (!dialog) return;
    dialog.querySelector(".what").textContent = a.dataset.label;
    dialog.querySelectorAll("form").forEach((f) => {
      f.dataset.api = f.dataset.apiTemplate.replace("ID", a.dataset.id);
      const err = f.querySelector(".form-error"); if (err) err.textContent = "";
    });
    dialog.querySelector("[name=start]").value = a.dataset.start;
    dialog.showModal();
  }));
  document.querySelectorAll("[data-print]").forEach((b) =>
    b.addEventListener("click", () => window.print()));
  document.querySelectorAll("dialog .close").forEach((b) =>
    b.addEventListener("click", () => b.closest("dialog").close()));
})();
