// Firefox smoke run of the editor and the inbox, over WebDriver BiDi: Debian's firefox-esr driven by
// puppeteer-core, no patched browser build needed. Against a running Flowapp (`make run`):
//
//   apt-get install firefox-esr && (cd tools/firefox-smoke && npm ci)
//   BASE=http://127.0.0.1:5000 EMAIL=admin@flowapp.local PW='the printed password' \
//     node tools/firefox-smoke/smoke.mjs
//
// Exits non-zero when a step fails or the page logs a script error. Screenshots go to test-artifacts/.
import puppeteer from "puppeteer-core";
import { mkdirSync } from "node:fs";
const base = process.env.BASE ?? "http://127.0.0.1:5000";
const email = process.env.EMAIL ?? "admin@flowapp.local";
const password = process.env.PW;
const shots = new URL("../../test-artifacts/", import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const check = (ok, what) => { if (!ok) throw new Error("failed: " + what); console.log("ok:", what); };
const errors = [];
const step = (s) => console.log("step:", s);
const browser = await puppeteer.launch({
  browser: "firefox", executablePath: "/usr/bin/firefox-esr", headless: true,
  defaultViewport: { width: 1366, height: 768 }, protocolTimeout: 60000,
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
  console.log("browser:", await browser.version());
  await page.goto(base + "/login");
  await page.type("#email", email);
  await page.type("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  step("logged in at " + page.url());

  await page.goto(base + "/automations/");
  await page.type("#new-name", "Firefox smoke " + Date.now());
  await page.type("#new-keyword", "smoke"); // a keyword trigger by default: it needs its keyword
  await Promise.all([page.waitForNavigation(), page.click("form[action$='/new'] button[type=submit]")]);
  await page.waitForSelector("html[data-editor-ready=true]");
  step("editor open: " + page.url());

  // Add a node from the palette by keyboard (focus + Enter), then by drag and drop.
  await page.focus('.palette-item[data-type="send_text"]');
  await page.keyboard.press("Enter");
  await page.waitForSelector('.fa-node[data-nid="send_text"]');
  check(Boolean(await page.$('.fa-node[data-nid="send_text"]')), "a palette entry added by keyboard (focus, Enter)");
  const item = await page.$('.palette-item[data-type="log"]');
  const canvas = await page.$("#canvas");
  const box = await canvas.boundingBox();
  try {
    await item.drag({ x: box.x + 300, y: box.y + 400 });
    await page.mouse.up();
  } catch (e) { console.log("drag not supported by the driver:", e.message.slice(0, 100)); }
  // Puppeteer cannot synthesise HTML drag and drop in Firefox; the keyboard path above adds nodes.
  step("drag and drop from the palette (driver support varies): " + Boolean(await page.$('.fa-node[data-nid="log"]')));

  // Open the node's settings, type, save with Enter in the form.
  await page.waitForSelector('#node-form-wrap[data-node-id="send_text"]');
  await page.click("#f-c-text", { clickCount: 3 });
  await page.type("#f-c-text", "Hello from Firefox {{ contact.name }}");
  await page.click("#node-form button.primary");
  await page.waitForSelector("#node-saved", { visible: true });
  const summary = await page.$eval('.fa-node[data-nid="send_text"]', (n) => n.textContent);
  check(summary.includes("Hello from Firefox"), "settings saved from the form; the node shows them");

  // Connect start -> send_text by dragging from the port to the node's input.
  const out = await (await page.$('.fa-node[data-nid="start"] .output[data-port="next"]')).boundingBox();
  const inp = await (await page.$('.fa-node[data-nid="send_text"] .input')).boundingBox();
  await page.mouse.move(out.x + out.width / 2, out.y + out.height / 2);
  await page.mouse.down();
  await page.mouse.move(inp.x + inp.width / 2, inp.y + inp.height / 2, { steps: 8 });
  await page.mouse.up();
  // Save with Ctrl+S, reload, and read the stored graph from the page.
  await page.click("#canvas", { offset: { x: 20, y: 20 } });
  await page.keyboard.down("Control"); await page.keyboard.press("s"); await page.keyboard.up("Control");
  await page.waitForSelector('#save-state[data-state="saved"]');
  await page.reload();
  await page.waitForSelector("html[data-editor-ready=true]");
  const edges = await page.$$eval("#canvas .connection", (c) => c.length);
  const nodes = await page.$$eval(".fa-node", (ns) => ns.map((n) => n.dataset.nid));
  check(nodes.includes("send_text") && edges === 1, "saved with Ctrl+S and found again after reload");

  // Undo (Ctrl+Z) removes the last change; redo brings it back.
  await page.focus('.palette-item[data-type="end"]');
  await page.keyboard.press("Enter");
  await page.waitForSelector('.fa-node[data-nid="end"]');
  await page.click("#canvas", { offset: { x: 20, y: 20 } });
  await page.keyboard.down("Control"); await page.keyboard.press("z"); await page.keyboard.up("Control");
  const afterUndo = await page.$('.fa-node[data-nid="end"]');
  await page.keyboard.down("Control"); await page.keyboard.down("Shift"); await page.keyboard.press("z");
  await page.keyboard.up("Shift"); await page.keyboard.up("Control");
  const afterRedo = await page.$('.fa-node[data-nid="end"]');
  check(!afterUndo && Boolean(afterRedo), "Ctrl+Z undoes, Ctrl+Shift+Z redoes");

  // The simulator.
  await page.click("#tab-simulator"); step("simulator tab");
  await page.waitForSelector("#sim-first", { visible: true });
  await page.type("#sim-first", "hi");
  await page.click(".sim-start button.primary");
  await page.waitForFunction(() => document.querySelector(".sim-business")?.textContent.includes("Hello from Firefox"));
  const said = await page.$eval(".sim-business", (n) => n.textContent);
  check(said.includes("Hello from Firefox"), "the simulator answers with the node's text");
  await page.screenshot({ path: shots + "editor-firefox.png" });

  // Leaving with unsaved changes asks first (beforeunload): accept, then the inbox.
  page.on("dialog", async (d) => { step("dialog: " + d.type()); await d.accept(); });
  await page.goto(base + "/inbox/");
  await page.waitForSelector("body");
  check((await page.title()).startsWith("Inbox"), "the inbox opens");
  await page.screenshot({ path: shots + "inbox-firefox.png" });
} finally {
  await browser.close();
}
check(errors.length === 0, "no script error in the browser " + JSON.stringify(errors));
