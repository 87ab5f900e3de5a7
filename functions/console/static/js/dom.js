// Small DOM helpers: elements are built with properties and text, never from HTML strings.

export function $(selector, root = document) {
  const found = root.querySelector(selector);
  if (!found) throw new Error("missing element " + selector);
  return found;
}

/** `el("li", {className: "card"}, "text", child)`: attributes via properties or `attrs`. */
export function el(tag, properties = {}, ...children) {
  const element = document.createElement(tag);
  const { attrs, dataset, ...rest } = properties;
  Object.assign(element, rest);
  for (const [name, value] of Object.entries(attrs ?? {})) element.setAttribute(name, value);
  Object.assign(element.dataset, dataset ?? {});
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

let noticeTimer = null;

/** A readable message at the top of the page. An error stays until the next tab change or
 * the next action that succeeds (`clearNotice`); other kinds go after four seconds. */
export function notify(message, kind = "error") {
  const notice = $("#notice");
  notice.textContent = message;
  notice.dataset.kind = kind;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  if (kind !== "error") noticeTimer = setTimeout(() => (notice.hidden = true), 4000);
}

export function clearNotice() {
  $("#notice").hidden = true;
}

/** Asks with the confirmation dialog; resolves true only for its confirm button (Escape,
 * Cancel or closing it otherwise is a no). Focus starts on Cancel. */
export function confirmAction(text, confirmLabel) {
  const dialog = $("#confirm-dialog");
  $("#confirm-text").textContent = text;
  $("#confirm-yes").textContent = confirmLabel;
  $("#confirm-yes").onclick = () => dialog.close("yes");
  $("#confirm-no").onclick = () => dialog.close("no");
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
    $("#confirm-no").focus();
  });
}
