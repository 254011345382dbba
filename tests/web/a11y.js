// A small accessibility check for the basics, injected into each page by the browser tests
// (our own code: no network, nothing vendored). Returns a list of problems, empty when it passes:
// every form control has a label, images have alt text, the landmarks exist (header, nav, main),
// one h1, buttons and links have names, and text contrast is at least 4.5:1 on computed colours.
(() => {
  const problems = [];
  const describe = (node) => {
    const id = node.id ? `#${node.id}` : "";
    const cls = node.className && typeof node.className === "string" ? `.${node.className.trim().split(/\s+/).join(".")}` : "";
    return `<${node.tagName.toLowerCase()}${id}${cls}> “${(node.textContent || "").trim().slice(0, 40)}”`;
  };
  const named = (node) => {
    const labelledBy = (node.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent.trim()).join("");
    return Boolean(labelledBy || (node.getAttribute("aria-label") || "").trim());
  };

  // Form controls: a <label for>, a wrapping label, or an ARIA name.
  for (const control of document.querySelectorAll("input, select, textarea")) {
    if (control.type === "hidden" || ["submit", "button", "reset"].includes(control.type)) continue;
    const labelled = [...(control.labels || [])].some((l) => l.textContent.trim()) || named(control) || (control.getAttribute("title") || "").trim();
    if (!labelled) problems.push(`form control without a label: ${describe(control)} name=${control.name}`);
  }

  // Images: alt text (present; decorative ones say so with alt=""), role=img needs a name.
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`image without alt: ${img.getAttribute("src")?.slice(0, 80)}`);
  }
  for (const node of document.querySelectorAll('[role="img"]')) {
    if (!named(node)) problems.push(`role=img without a name: ${describe(node)}`);
  }

  // Landmarks and headings.
  if (document.querySelectorAll("main, [role=main]").length !== 1) problems.push("not exactly one main landmark");
  if (!document.querySelector("nav, [role=navigation]")) problems.push("no nav landmark");
  if (!document.querySelector("header, [role=banner]")) problems.push("no header landmark");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements (want one)`);
  if (!document.documentElement.lang) problems.push("no lang on <html>");

  // Buttons and links: an accessible name.
  for (const node of document.querySelectorAll("button, a[href]")) {
    if (!node.textContent.trim() && !named(node) && !node.querySelector("img[alt]:not([alt=''])")) {
      problems.push(`button or link without a name: ${describe(node)}`);
    }
  }

  // Contrast of every visible element that holds text of its own.
  const parse = (value) => {
    const m = value.match(/rgba?\(([^)]+)\)/);
    if (!m) return [0, 0, 0, 0];
    const parts = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1);
  };
  const background = (node) => {
    const layers = [];
    for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
      const style = getComputedStyle(n);
      const color = parse(style.backgroundColor);
      if (color[3] > 0) layers.push(color);
      if (color[3] >= 1) break;
    }
    let result = [255, 255, 255, 1];
    for (const layer of layers.reverse()) result = over(layer, result);
    return result;
  };
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const ratio = (a, b) => {
    const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (l1 + 0.05) / (l2 + 0.05);
  };
  for (const node of document.body.querySelectorAll("*")) {
    if (node.closest("svg, script, style, noscript, .screen img")) continue;
    const ownText = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
    if (!ownText) continue;
    const style = getComputedStyle(node);
    if (style.visibility === "hidden" || style.display === "none" || !node.getClientRects().length) continue;
    const rect = node.getBoundingClientRect();
    if (rect.width <= 1 || rect.height <= 1) continue; // visually hidden text (screen readers only)
    const bg = background(node);
    const fg = over(parse(style.color), bg);
    const value = ratio(fg, bg);
    if (value < 4.5) problems.push(`contrast ${value.toFixed(2)}:1 < 4.5:1 for ${describe(node)} (${style.color} on rgb(${bg.slice(0, 3).map(Math.round).join(",")}))`);
  }
  return problems;
})();
