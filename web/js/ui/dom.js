// A small helper to build elements. Text always goes in as text (never parsed as markup),
// which is also what the page's Trusted Types policy requires.

/**
 * `h("button", {type: "button", onclick: f, "aria-label": "Edit"}, "Edit")`: an element with
 * attributes (`on…` functions become listeners, `hidden`/`checked`/`disabled`/`value`/
 * `selected`/`required` properties) and children (strings become text nodes; null and
 * false are skipped).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (["hidden", "checked", "disabled", "value", "selected", "required"].includes(name)) {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

/** Replaces the children of `element`. */
export function fill(element, ...children) {
  element.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** The message to show for an error: the problem's detail and its field errors. */
export function describe(error) {
  const fields = error.fieldErrors ?? [];
  const detail = error.message || "Something went wrong.";
  if (fields.length === 0) return detail;
  return `${detail} ${fields.map((f) => `${f.field}: ${f.message}`).join("; ")}`;
}
