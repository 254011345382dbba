// The live console's index: open a new session.
"use strict";
document.getElementById("session-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = document.getElementById("session-create");
  const errorBox = document.getElementById("session-form-error");
  button.disabled = true;
  try {
    const session = await Deskhand.api("/api/live-sessions", { method: "POST", body: {
      authProvider: document.getElementById("session-provider").value,
      model: document.getElementById("session-model").value.trim() || undefined,
      machine: document.getElementById("session-machine").value || undefined,
    } });
    window.location.assign(`/live/${session.id}`);
  } catch (error) {
    errorBox.textContent = Deskhand.describeError(error);
    errorBox.hidden = false;
    button.disabled = false;
  }
});
