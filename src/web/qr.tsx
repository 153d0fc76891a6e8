/**
 * QR codes as inline SVG for the web pages: dark modules on a white square with the standard
 * four-module quiet zone, in both colour schemes. The markup is built from numbers alone (the
 * encoded text never appears in it), so inserting it unescaped is safe.
 */
import type { JSX } from "hono/jsx/jsx-runtime";
import { encodeQR } from "@paulmillr/qr";
import { raw } from "hono/html";

/** An SVG QR code of `text` (UTF-8, byte mode, error correction "medium"). */
export function QrSvg(props: { text: string; label: string }): JSX.Element {
  const modules = encodeQR(props.text, "raw", { ecc: "medium", border: 4 });
  const size = modules.length;
  let path = "";
  modules.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) path += `M${x} ${y}h1v1h-1z`;
    });
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" ` +
    `shape-rendering="crispEdges" role="img" aria-hidden="true">` +
    `<rect width="${size}" height="${size}" fill="#fff"/><path d="${path}" fill="#000"/></svg>`;
  return (
    <figure class="qr" aria-label={props.label} role="img">
      {raw(svg)}
    </figure>
  );
}
