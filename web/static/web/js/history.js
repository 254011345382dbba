// History: the status choices follow the chosen kind (a live session is never "succeeded").
"use strict";
(() => {
  const kind = document.getElementById("filter-kind");
  const status = document.getElementById("filter-status");
  if (!kind || !status) return;
  function offer() {
    for (const option of status.options) {
      if (!option.value) continue;
      const fits = !kind.value || option.dataset.kinds.split(" ").includes(kind.value);
      option.hidden = !fits;
      option.disabled = !fits;
    }
    // A status the new kind never has would filter everything out: back to "Any status".
    if (status.selectedOptions[0] && status.selectedOptions[0].disabled) status.value = "";
  }
  kind.addEventListener("change", offer);
  offer();
})();
