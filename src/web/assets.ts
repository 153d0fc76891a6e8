/**
 * The web pages' one stylesheet and one script, served by keycast itself (no CDN, no build step).
 * They live in this module rather than in files so the compiled binary carries them without
 * asset flags. Their URLs carry a hash of their text, so they may be cached for a year.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

const STYLESHEET = `
:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1c1c1e;--muted:#5f6368;--line:#d9d9de;
--panel:#fff;--accent:#4b3fc4;--accent-fg:#fff;--danger:#b3261e;--danger-fg:#fff;--ok:#1e6b36;
--focus:#1a73e8;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Ubuntu,sans-serif;
line-height:1.5}
@media (prefers-color-scheme:dark){:root{--bg:#16161a;--fg:#ececf1;--muted:#a3a3ad;
--line:#34343c;--panel:#1f1f25;--accent:#9d95ff;--accent-fg:#16161a;--danger:#ff8a80;
--danger-fg:#16161a;--ok:#7fd492;--focus:#8ab4f8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font-size:1rem}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
header.top{border-bottom:1px solid var(--line);background:var(--panel)}
header.top .bar{max-width:64rem;margin:0 auto;padding:.6rem 1rem;display:flex;flex-wrap:wrap;
gap:.5rem 1rem;align-items:center}
.brand{font-weight:700;font-size:1.15rem;text-decoration:none;color:var(--fg);margin-right:auto}
nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
nav form{margin:0}
main{max-width:46rem;margin:0 auto;padding:1rem 1rem 3rem}
main.wide{max-width:72rem}
h1{font-size:1.6rem;margin:.8rem 0 .6rem}
h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
p.lead{font-size:1.1rem}
.muted,small{color:var(--muted)}
.tag{margin-left:.4rem}
.origin{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:1.4rem;font-weight:700;
overflow-wrap:anywhere;margin:.4rem 0}
section.panel,.card{background:var(--panel);border:1px solid var(--line);border-radius:.5rem;
padding:.8rem 1rem;margin:.8rem 0}
form.stack{display:grid;gap:.8rem;max-width:30rem}
label{display:block;font-weight:600;margin-bottom:.2rem}
.choice label{display:inline;font-weight:400}
fieldset{border:1px solid var(--line);border-radius:.5rem;padding:.6rem .9rem}
legend{font-weight:600;padding:0 .3rem}
.choice input{width:auto}
.hint{display:block;font-weight:400;color:var(--muted);font-size:.9rem}
input,select,textarea{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);
border-radius:.35rem;padding:.45rem .6rem;width:100%;max-width:100%}
textarea{min-height:5rem}
input[aria-invalid=true],textarea[aria-invalid=true]{border-color:var(--danger)}
.error{color:var(--danger);font-weight:600;margin:.2rem 0 0}
.notice{border-left:4px solid var(--ok);padding:.4rem .8rem;background:var(--panel)}
.alert{border-left:4px solid var(--danger);padding:.4rem .8rem;background:var(--panel)}
button,.button{font:inherit;font-weight:600;border-radius:.35rem;padding:.45rem .9rem;
border:1px solid var(--accent);background:var(--accent);color:var(--accent-fg);cursor:pointer;
text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:transparent;color:var(--accent)}
button.danger,.button.danger{background:var(--danger);border-color:var(--danger);
color:var(--danger-fg)}
button.link{background:none;border:none;color:var(--accent);padding:0;font-weight:400;
text-decoration:underline}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;align-items:center}
.mono,code,textarea.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
font-size:.92em;overflow-wrap:anywhere}
.secret{width:100%;min-height:6rem;font-family:ui-monospace,Menlo,Consolas,monospace}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);
white-space:nowrap}
.qr{background:#fff;display:inline-block;margin:.6rem 0;padding:0;border-radius:.35rem;line-height:0}
.qr svg{width:240px;height:240px}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.9rem;color:var(--muted)}
td form{margin:0}
.allow{color:var(--ok);font-weight:600}.deny{color:var(--danger);font-weight:600}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.4rem 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
details summary{cursor:pointer;margin:.3rem 0}
footer{max-width:64rem;margin:0 auto;padding:1rem;color:var(--muted);font-size:.85rem}
@media (max-width:600px){table.cards thead{display:none}
table.cards tr{display:block;border:1px solid var(--line);border-radius:.5rem;margin:.6rem 0;
padding:.3rem .6rem;background:var(--panel)}
table.cards td{display:block;border:none;padding:.15rem 0}
table.cards td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);
font-size:.85rem}}
`.trim();

const SCRIPT = `
"use strict";
// Copy buttons: <button data-copy="ID" hidden> copies the value or text of element ID.
for (const button of document.querySelectorAll("button[data-copy]")) {
  if (!navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const target = document.getElementById(button.dataset.copy);
    if (!target) return;
    const text = "value" in target ? target.value : target.textContent;
    try {
      await navigator.clipboard.writeText(text.trim());
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 1500);
    } catch (_) {
      button.textContent = "Select and copy by hand";
    }
  });
}
`.trim();

/** A static asset with its content type. */
export interface Asset {
  path: string;
  type: string;
  body: string;
}

function asset(name: string, ext: string, type: string, body: string): Asset {
  const hash = bytesToHex(sha256(new TextEncoder().encode(body))).slice(0, 12);
  return { path: `/static/${name}.${hash}.${ext}`, type, body };
}

/** The stylesheet. */
export const STYLESHEET_ASSET: Asset = asset(
  "keycast",
  "css",
  "text/css; charset=utf-8",
  STYLESHEET,
);
/** The progressive-enhancement script (copy buttons). */
export const SCRIPT_ASSET: Asset = asset(
  "keycast",
  "js",
  "text/javascript; charset=utf-8",
  SCRIPT,
);
/** Every asset, by path. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map(
  [STYLESHEET_ASSET, SCRIPT_ASSET].map((a) => [a.path, a]),
);
