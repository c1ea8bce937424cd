// Every chart saved as SVG or PNG, made in the page: the SVG serialised with the styles the page
// applied written into it (the stylesheet does not travel with the file), the PNG drawn from
// that SVG onto a canvas. Both are data: URLs, so nothing is requested from anywhere.

// The computed properties that carry a chart's look.
const PROPERTIES = ["fill", "fill-opacity", "stroke", "stroke-width", "stroke-opacity", "stroke-dasharray",
  "opacity", "font-family", "font-size", "font-weight", "visibility"];
// Parts that serve the pointer only.
const INTERACTIVE = ".hover, .zoom-box";

// The SVG as a standalone document's text.
export function svgText(svg) {
  const copy = svg.cloneNode(true);
  const originals = [svg, ...svg.querySelectorAll("*")];
  const copies = [copy, ...copy.querySelectorAll("*")];
  originals.forEach((element, i) => {
    const style = getComputedStyle(element);
    copies[i].setAttribute("style", PROPERTIES.map((p) => `${p}:${style.getPropertyValue(p)}`).join(";"));
  });
  for (const part of copy.querySelectorAll(INTERACTIVE)) part.remove();
  const background = document.createElementNS(svg.namespaceURI, "rect");
  Object.entries({ width: "100%", height: "100%", fill: "#fff" }).forEach(([k, v]) => background.setAttribute(k, v));
  copy.insertBefore(background, copy.firstChild);
  copy.setAttribute("xmlns", svg.namespaceURI);
  return new XMLSerializer().serializeToString(copy);
}

const svgDataUrl = (svg) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText(svg))}`;

// A PNG of the SVG at `scale` times its size, as a data: URL.
export async function pngDataUrl(svg, scale = 2) {
  const image = new Image();
  image.src = svgDataUrl(svg);
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(svg.viewBox.baseVal.width * scale);
  canvas.height = Math.round(svg.viewBox.baseVal.height * scale);
  canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
  return canvas.toDataURL("image/png");
}

function save(url, filename) {
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
}

// "SVG" and "PNG" buttons under the chart in `container`, saving files named after `name`.
export function exportButtons(container, svg, name) {
  const tools = document.createElement("div");
  tools.className = "chart-tools";
  const file = name.replace(/[^\w.-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80) || "chart";
  for (const [label, make] of [["SVG", async () => svgDataUrl(svg)], ["PNG", () => pngDataUrl(svg)]]) {
    const button = tools.appendChild(document.createElement("button"));
    Object.assign(button, { type: "button", textContent: label, title: `save this chart as ${label}` });
    button.className = `export-${label.toLowerCase()}`;
    button.addEventListener("click", async (event) => {
      event.stopPropagation(); // a chart that opens something when clicked must not open it
      save(await make(), `${file}.${label.toLowerCase()}`);
    });
  }
  container.appendChild(tools);
}
