// Answers as a small, safe subset of Markdown: paragraphs, emphasis, inline code, fenced
// code blocks (with a copy button), lists and links. The answer is never parsed as HTML:
// every piece of it goes into the page as a text node, so `<script>` or `<img onerror>` in
// an answer shows as typed. Links are kept only for absolute http(s) URLs and open in a new
// tab with rel="noopener noreferrer"; anything else stays text.

import { el } from "./dom.js";
import { t } from "./i18n.js";

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const BULLET = /^ {0,3}[-*+]\s+(.*)$/;
const ORDERED = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/;
const HEADING = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/;
const BLANK = /^\s*$/;
const CONTINUATION = /^(?: {2,}|\t)\S/;

// Inline spans, tried left to right: code, link, strong, emphasis. Underscores only count
// at word edges, so snake_case stays as written.
const INLINE = new RegExp(
  [
    /(`+)([\s\S]*?[^`])\1(?!`)/.source, // 1, 2: code
    /\[([^\]\n]+)\]\(\s*([^\s()]+)\s*\)/.source, // 3, 4: link
    /\*\*(?=\S)([\s\S]*?\S)\*\*/.source, // 5: strong
    /(?<!\w)__(?=\S)([\s\S]*?\S)__(?!\w)/.source, // 6: strong
    /(?<![\w*])\*(?=[^\s*])([^*]*?[^\s*])\*(?!\*)/.source, // 7: emphasis
    /(?<![\w_])_(?=[^\s_])([^_]*?[^\s_])_(?![\w_])/.source, // 8: emphasis
  ].join("|"),
  "g",
);

/** The URL if it is an absolute http(s) one, else null. */
export function safeHref(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

/** Nodes for one run of inline text (`links` false inside a link's own text). */
function inline(text, links = true) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    const [whole, , code, label, target, strong1, strong2, em1, em2] = match;
    let node = null;
    if (code !== undefined) node = el("code", {}, code);
    else if (label !== undefined) {
      const href = links ? safeHref(target) : null;
      if (href) {
        node = el("a", { href, target: "_blank", rel: "noopener noreferrer" }, ...inline(label, false));
      }
    } else if (strong1 !== undefined || strong2 !== undefined) {
      node = el("strong", {}, ...inline(strong1 ?? strong2, links));
    } else {
      node = el("em", {}, ...inline(em1 ?? em2, links));
    }
    if (node === null) continue; // not a link we keep: its text stays as typed
    if (match.index > last) nodes.push(text.slice(last, match.index));
    nodes.push(node);
    last = match.index + whole.length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

function copy(button, code) {
  const done = (key) => {
    button.textContent = t(key);
    setTimeout(() => (button.textContent = t("copy")), 2000);
  };
  const fallback = () => {
    getSelection()?.selectAllChildren(code);
    done("copyByHand");
  };
  if (!navigator.clipboard) return fallback();
  navigator.clipboard.writeText(code.textContent).then(() => done("copied"), fallback);
}

function codeBlock(text, language) {
  const code = el("code", {}, text);
  if (language) code.dataset.language = language;
  const button = el("button", {
    type: "button",
    className: "secondary copy",
    textContent: t("copy"),
    attrs: { "aria-label": t("copyCode") },
    dataset: { i18n: "copy", i18nAriaLabel: "copyCode" }, // follow a change of language
    onclick: () => copy(button, code),
  });
  const head = el("div", { className: "code-head" }, el("span", { className: "code-language" }, language), button);
  return el("div", { className: "code-block" }, head, el("pre", { tabIndex: 0 }, code));
}

/** Blocks of the text: `{type: "p" | "heading" | "code" | "list", ...}`. */
function blocks(source) {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const found = [];
  let paragraph = null;
  let list = null;
  let blank = false;
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index];
    const fence = FENCE.exec(line);
    if (fence) {
      const closing = new RegExp(`^ {0,3}${fence[1][0] === "`" ? "`" : "~"}{${fence[1].length},}\\s*$`);
      const body = [];
      for (index += 1; index < lines.length && !closing.test(lines[index]); index += 1) body.push(lines[index]);
      found.push({ type: "code", text: body.join("\n"), language: fence[2] });
      paragraph = list = null;
      continue;
    }
    if (BLANK.test(line)) {
      paragraph = null;
      blank = true;
      continue;
    }
    const bullet = BULLET.exec(line);
    const ordered = bullet ? null : ORDERED.exec(line);
    if (bullet || ordered) {
      const isOrdered = Boolean(ordered);
      if (!list || list.ordered !== isOrdered) {
        list = { type: "list", ordered: isOrdered, start: ordered ? Number(ordered[1]) : 1, items: [] };
        found.push(list);
      }
      list.items.push(bullet ? bullet[1] : ordered[2]);
      paragraph = null;
      blank = false;
      continue;
    }
    if (list && (CONTINUATION.test(line) || !blank)) {
      list.items[list.items.length - 1] += "\n" + line.trim();
      continue;
    }
    list = null;
    blank = false;
    const heading = HEADING.exec(line);
    if (heading) {
      found.push({ type: "heading", text: heading[1] });
      paragraph = null;
    } else if (paragraph) {
      paragraph.lines.push(line);
    } else {
      paragraph = { type: "p", lines: [line] };
      found.push(paragraph);
    }
  }
  return found;
}

/** The answer as nodes to put in the page. */
export function renderMarkdown(source) {
  const fragment = document.createDocumentFragment();
  for (const block of blocks(source ?? "")) {
    if (block.type === "code") fragment.append(codeBlock(block.text, block.language));
    else if (block.type === "heading") {
      fragment.append(el("p", { className: "md-heading" }, el("strong", {}, ...inline(block.text))));
    } else if (block.type === "p") {
      fragment.append(el("p", {}, ...inline(block.lines.join("\n").trim())));
    } else {
      const list = el(block.ordered ? "ol" : "ul", {});
      if (block.ordered && block.start !== 1) list.start = block.start;
      for (const item of block.items) list.append(el("li", {}, ...inline(item)));
      fragment.append(list);
    }
  }
  return fragment;
}
