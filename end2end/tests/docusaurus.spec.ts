import { expect, Page, test } from '@playwright/test';
import { widgetFrame } from './helpers';

// A real Docusaurus 3 site, built from the npm registry with docusaurus-plugin-bookchat and the
// local-search plugin (@easyops-cn/docusaurus-search-local), the sample book as its docs.
const SITE = process.env.DOCSITE_URL ?? 'http://127.0.0.1:3340';
const ROS = `${SITE}/docs/ros2/ros2-architecture`;
const shortcut = process.platform === 'darwin' ? 'Meta+i' : 'Control+i';

async function answered(frame: Awaited<ReturnType<typeof widgetFrame>>, n: number) {
  await expect(frame.getByTestId('msg-assistant')).toHaveCount(n);
  await expect(frame.getByTestId('answering')).toHaveCount(0);
}

test('the plugin on a real Docusaurus site: shortcut, search hand-off, citation into the built page', async ({ page }) => {
  await page.goto(ROS);
  // The plugin put the loader in the page head; the launcher is there, nothing else loaded.
  await expect(page.locator('script[data-bookchat-plugin][src$="/embed.js"]')).toHaveCount(1);
  const launcher = page.getByTestId('bookchat-launcher');
  await expect(launcher).toBeVisible();
  await expect(page.locator('[data-testid=bookchat-iframe]')).toHaveCount(0);

  // Ctrl+I (⌘I) opens the widget and moves focus into it; the same keys, pressed there with no
  // click in between, close it, and focus goes back where it was.
  const search = page.locator('input.navbar__search-input');
  await search.focus();
  await page.keyboard.press(shortcut);
  const frame = await widgetFrame(page);
  await expect(page.getByTestId('bookchat-panel')).toBeVisible();
  await expect(frame.getByTestId('composer')).toBeFocused();
  await page.keyboard.press(shortcut);
  await expect(page.getByTestId('bookchat-panel')).toBeHidden();
  await expect(search).toBeFocused();

  // The site's own search box (local search): "Ask BookChat about «query»" hands the query over.
  await search.click();
  await search.fill('digital twin');
  const ask = page.getByTestId('bookchat-search-ask');
  await expect(ask).toHaveText('Ask BookChat about «digital twin»');
  // Inside the screen, though the search box sits at the navbar's right end.
  const inView = async () => {
    const box = (await ask.boundingBox())!;
    const vw = page.viewportSize()!.width;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(vw);
  };
  await inView();
  // The search plugin's own results are still there beside it.
  await ask.click();
  await expect(page.getByTestId('bookchat-panel')).toBeVisible();
  await answered(frame, 1);
  await expect(frame.getByTestId('msg-user').getByTestId('msg-body')).toHaveText(['digital twin']);

  // The citation opens the built page (the same tab: the widget is embedded) at its passage.
  const cite = frame.getByTestId('msg-assistant').getByTestId('citation').first();
  const href = (await cite.getAttribute('href'))!;
  expect(href.startsWith(`${SITE}/docs/`)).toBe(true);
  await cite.click();
  await page.waitForURL((u) => u.pathname === new URL(href).pathname);
  const anchor = new URL(href).hash.replace(/^#/, '').split(':~:')[0];
  if (anchor) {
    const target = page.locator(`[id="${decodeURIComponent(anchor)}"]`);
    await expect(target).toHaveCount(1);
    await expect(target).toBeInViewport();
  }
  const fragment = /:~:text=([^&]+)/.exec(href)?.[1];
  expect(fragment, 'the citation carries a text fragment').toBeTruthy();
  const [start, end] = fragment!.split(',').map((p) => decodeURIComponent(p));
  // The quoted sentence is in the cited section of the built page: from its heading to the next
  // heading (the page's top when the link has no anchor).
  const section = await page.evaluate((id) => {
    const article = document.querySelector('article .markdown') ?? document.querySelector('article')!;
    const heading = id ? document.getElementById(id)?.closest('h1,h2,h3,h4,h5,h6') ?? null : null;
    const text: string[] = [];
    let node: Element | null = heading ? heading.nextElementSibling : article.firstElementChild;
    while (node && !/^H[1-6]$/.test(node.tagName)) { text.push((node as HTMLElement).innerText); node = node.nextElementSibling; }
    return text.join(' ').replace(/\s+/g, ' ');
  }, anchor ? decodeURIComponent(anchor) : '');
  expect(section).toContain(start);
  if (end) expect(section).toContain(end);
});

async function openFromNavbar(page: Page) {
  // The swizzle-free fallback: a navbar item marked data-bookchat-open.
  await page.getByTestId('navbar-ask-ai').click();
  return widgetFrame(page);
}

test('identity through the site\'s own endpoint: the reader\'s history follows them to another device', async ({ browser }) => {
  const user = `reader-${Date.now()}`;
  const signedIn = async () => {
    const ctx = await browser.newContext();
    await ctx.addCookies([{ name: 'site_user', value: user, url: SITE }]);
    return ctx;
  };
  const laptop = await signedIn();
  const page = await laptop.newPage();
  await page.goto(ROS);
  const frame = await openFromNavbar(page);
  const composer = frame.getByTestId('composer');
  await composer.fill('What is ROS 2?');
  await composer.press('Enter');
  await answered(frame, 1);

  // Another device, same reader: the conversation is in their history.
  const phone = await signedIn();
  const other = await phone.newPage();
  await other.goto(`${SITE}/docs/simulation/digital-twins`);
  const frame2 = await openFromNavbar(other);
  await frame2.getByTestId('open-history').click();
  await expect(frame2.getByTestId('history-item')).toHaveCount(1);
  await expect(frame2.getByTestId('history-item')).toContainText('What is ROS 2?');

  // Someone not signed in on the site sees none of it.
  const stranger = await (await browser.newContext()).newPage();
  await stranger.goto(ROS);
  const frame3 = await openFromNavbar(stranger);
  await frame3.getByTestId('open-history').click();
  await expect(frame3.getByTestId('history-empty')).toBeVisible();
  await laptop.close();
  await phone.close();
});

test('on a phone the search hand-off stays inside the screen', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(ROS);
  const search = page.locator('input.navbar__search-input');
  await search.click();
  await search.fill('what is a digital twin');
  const ask = page.getByTestId('bookchat-search-ask');
  await expect(ask).toBeVisible();
  const box = (await ask.boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(390);
});

test('the site serves llms.txt and llms-full.txt from its own origin, linking to its own pages', async ({ request }) => {
  const res = await request.get(`${SITE}/llms.txt`);
  expect(res.ok()).toBe(true);
  const txt = await res.text();
  expect(txt.startsWith('# ')).toBe(true);
  const links = [...txt.matchAll(/^- \[([^\]]+)\]\(([^)]+)\)/gm)].map((m) => m[2]);
  expect(links.length).toBeGreaterThan(3);
  for (const url of links) {
    expect(url.startsWith(`${SITE}/`), url).toBe(true);
    expect((await request.get(url)).ok(), url).toBe(true);
  }
  // The full text is beside it (llms.txt links to it relatively).
  expect(txt).toContain('(llms-full.txt)');
  const full = await request.get(`${SITE}/llms-full.txt`);
  expect(full.ok()).toBe(true);
  for (const url of links) expect(await full.text()).toContain(`Source: ${url}`);
});

// The same site with Algolia DocSearch: its modal opens on Ctrl+K / ⌘K. (Algolia is not reachable
// here, so the modal shows its error state; the hand-off does not depend on its results.)
const DOCSEARCH = process.env.DOCSEARCH_URL ?? 'http://127.0.0.1:3341';
const searchKeys = process.platform === 'darwin' ? 'Meta+k' : 'Control+k';

for (const width of [1280, 390]) {
  test(`DocSearch's modal at ${width} px: the hand-off sits under its search bar, inside the screen, and asks`, async ({ page }) => {
    await page.setViewportSize({ width, height: 844 });
    await page.goto(`${DOCSEARCH}/docs/ros2/ros2-architecture`);
    await expect(page.getByTestId('bookchat-launcher')).toBeVisible();
    // DocSearch listens for its keys once React has hydrated the page (Docusaurus marks it).
    await expect(page.locator('html[data-has-hydrated="true"]')).toHaveCount(1);
    await page.keyboard.press(searchKeys);
    const input = page.locator('.DocSearch-Modal .DocSearch-Input');
    await expect(input).toBeFocused();
    await input.fill('digital twin');
    const ask = page.getByTestId('bookchat-search-ask');
    await expect(ask).toHaveText('Ask BookChat about «digital twin»');
    const box = (await ask.boundingBox())!;
    const bar = (await page.locator('.DocSearch-SearchBar').boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(width);
    expect(box.y).toBeGreaterThanOrEqual(bar.y + bar.height - 1);
    expect(box.y + box.height).toBeLessThanOrEqual(844);
    await ask.click();
    // The modal closes and the widget asks the query.
    await expect(page.locator('.DocSearch-Modal')).toHaveCount(0);
    const frame = await widgetFrame(page);
    await answered(frame, 1);
    await expect(frame.getByTestId('msg-user').getByTestId('msg-body')).toHaveText(['digital twin']);
  });
}
