import { expect, test } from '@playwright/test';
import { ask, openWidget, widgetFrame } from './helpers';

test('the host page loads no widget until the reader shows intent', async ({ page }) => {
  const widgetRequests: string[] = [];
  page.on('request', (r) => {
    if (/\/widget|\.wasm|\/pkg\//.test(r.url())) widgetRequests.push(r.url());
  });
  await page.goto('/');
  await expect(page.getByTestId('host-article')).toBeVisible();
  await expect(page.getByTestId('bookchat-launcher')).toBeVisible();
  await page.waitForTimeout(500);
  expect(await page.locator('[data-testid=bookchat-iframe]').count()).toBe(0);
  expect(widgetRequests).toEqual([]);
});

test('ask a question, follow the citation, reload and find the conversation again', async ({ page }) => {
  const frame = await openWidget(page);
  await ask(frame, 'What is the zero moment point?');

  const answer = frame.getByTestId('msg-assistant').last();
  await expect(answer).toContainText('Zero-Moment Point');
  const citation = answer.getByTestId('citation').first();
  await expect(citation).toContainText('The Zero-Moment Point');
  const href = await citation.getAttribute('href');
  // The section's anchor, then a text fragment naming the passage (see the citation test below).
  expect(href).toMatch(/\/docs\/locomotion\/bipedal-walking#the-zero-moment-point:~:text=[^#]+$/);

  // The link lands on the cited section of the book.
  const response = await page.request.get(href!.split('#')[0]);
  expect(response.status()).toBe(200);
  expect(await response.text()).toContain('id="the-zero-moment-point"');

  // Reload: the session, the open widget and the conversation are all restored.
  await page.reload();
  const again = await widgetFrame(page);
  await expect(again.getByTestId('msg-user')).toHaveCount(1);
  await expect(again.getByTestId('msg-user').getByTestId('msg-body')).toHaveText('What is the zero moment point?');
  await expect(again.getByTestId('msg-assistant')).toHaveCount(1);
  await expect(again.getByTestId('conversation-title')).toHaveText('What is the zero moment point?');
});

test('Shift+Enter adds a newline instead of sending', async ({ page }) => {
  const frame = await openWidget(page);
  const composer = frame.getByTestId('composer');
  await composer.fill('first line');
  await composer.press('Shift+Enter');
  await composer.type('second line');
  await expect(composer).toHaveValue('first line\nsecond line');
  await expect(frame.getByTestId('msg-user')).toHaveCount(0);
  await composer.press('Enter');
  await expect(frame.getByTestId('msg-user').getByTestId('msg-body')).toHaveText('first line\nsecond line');
});

test('an HTML/script payload is shown as text and never runs', async ({ page }) => {
  const frame = await openWidget(page);
  const payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> what are sensors?';
  await ask(frame, payload);
  await expect(frame.getByTestId('msg-user').getByTestId('msg-body')).toHaveText(payload);
  const iframe = page.frames().find((f) => f.url().includes('/widget'))!;
  expect(await iframe.evaluate(() => (window as any).__xss)).toBeUndefined();
  expect(await frame.locator('.bc-user img').count()).toBe(0);
  // The title made from it is text too.
  await expect(frame.getByTestId('conversation-title')).toContainText('<img src=x');
});

test('a question about a selected passage shows the quote and is answered from it', async ({ page }) => {
  await page.goto('/docs/ros2/ros2-architecture');
  await page.evaluate(() => (window as any).BookChat.ask('What does this mean?', { selection: 'best effort, which drops them' }));
  const frame = await widgetFrame(page);
  const question = frame.getByTestId('msg-user').last();
  await expect(question.getByTestId('msg-quote')).toHaveText('best effort, which drops them');
  const answer = frame.getByTestId('msg-assistant').last();
  await expect(answer).toHaveAttribute('data-status', 'complete');
  await expect(answer.getByTestId('citation').first()).toContainText('Quality of Service Policies');
});

test('an empty conversation suggests questions from the current page', async ({ page }) => {
  const frame = await openWidget(page, '/docs/ros2/ros2-architecture');
  const suggestion = frame.getByTestId('suggestion').filter({ hasText: 'Why ROS 2 Replaced ROS 1?' });
  await expect(suggestion).toBeVisible();
  await suggestion.click();
  await expect(frame.getByTestId('msg-user').getByTestId('msg-body')).toHaveText('Why ROS 2 Replaced ROS 1?');
  await expect(frame.getByTestId('msg-assistant').last()).toContainText('single master');
});

test('a send lost in transit is retried with the same id and stored once', async ({ page }) => {
  const frame = await openWidget(page);
  let dropped = 0;
  // The first send reaches the server (which stores it), but its response is lost.
  await page.route('**/api/chat/send', async (route) => {
    if (dropped === 0) {
      dropped++;
      await route.fetch();
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  await ask(frame, 'What is an inertial measurement unit?');
  expect(dropped).toBe(1);
  await expect(frame.getByTestId('send-error')).toHaveCount(0);
  await page.unroute('**/api/chat/send');
  await page.reload();
  const again = await widgetFrame(page);
  await expect(again.getByTestId('msg-assistant')).toHaveCount(1);
  await expect(again.getByTestId('msg-user')).toHaveCount(1);
});

test('delete all my data leaves a fresh, empty history', async ({ page }) => {
  const frame = await openWidget(page);
  await ask(frame, 'What is a digital twin?');
  await frame.getByTestId('open-history').click();
  await expect(frame.getByTestId('history-item')).toHaveCount(1);
  await frame.getByTestId('erase').click();
  await frame.getByTestId('confirm-erase').click();
  await expect(frame.getByTestId('notice')).toContainText('deleted');
  await expect(frame.getByTestId('history-empty')).toBeVisible();
  await page.reload();
  const again = await widgetFrame(page);
  await again.getByTestId('open-history').click();
  await expect(again.getByTestId('history-empty')).toBeVisible();
});

test('a citation lands on the quoted passage: its text fragment is found in the cited section and scrolled into view', async ({ page }) => {
  const frame = await openWidget(page);
  // A section well down its page, so landing on it means scrolling.
  await ask(frame, 'What is the zero moment point?');
  const citation = frame.getByTestId('msg-assistant').last().getByTestId('citation').first();
  const href = (await citation.getAttribute('href'))!;
  const match = href.match(/^([^#]*)#([^:]*):~:text=([^&#]+)$/);
  expect(match, href).not.toBeNull();
  const [, pageUrl, anchor, directive] = match!;
  // start[,end], each percent-encoded (a '-' or ',' inside them is encoded too).
  const [start, end] = directive.split(',').map(decodeURIComponent);
  expect(anchor).toBe('the-zero-moment-point');

  // Follow it as a reader does (browsers honour text fragments on user-initiated navigations).
  await page.setViewportSize({ width: 900, height: 600 });
  await citation.click();
  await page.waitForURL((u) => u.pathname === new URL(pageUrl, page.url()).pathname);
  await page.waitForLoadState('load');
  const found = await page.evaluate(({ anchor, start, end }) => {
    const norm = (s: string) => s.replace(/\s+/g, ' ').toLowerCase();
    // The cited section: the heading with the anchor (or the page top) up to the next heading.
    const article = document.querySelector('article')!;
    const heading = anchor ? document.getElementById(anchor) : article.querySelector('h1');
    if (!heading) return { error: 'no heading ' + anchor };
    const level = Number(heading.tagName.slice(1));
    const blocks: Element[] = [];
    for (let el = heading.nextElementSibling; el; el = el.nextElementSibling) {
      if (/^H[1-6]$/.test(el.tagName) && Number(el.tagName.slice(1)) <= level) break;
      blocks.push(el);
    }
    const sectionText = norm(blocks.map((b) => b.textContent ?? '').join(' '));
    // The element holding the passage's start, and whether it is on screen.
    const holder = [...article.querySelectorAll('p, li')].find((e) => norm(e.textContent ?? '').includes(norm(start)));
    const r = holder?.getBoundingClientRect();
    return {
      inSection: sectionText.includes(norm(start)) && (!end || sectionText.includes(norm(end))),
      inView: !!r && r.bottom > 0 && r.top < window.innerHeight,
      holderInSection: !!holder && blocks.some((b) => b === holder || b.contains(holder)),
      scrolled: window.scrollY,
    };
  }, { anchor, start, end });
  expect(found, JSON.stringify(found)).toMatchObject({ inSection: true, holderInSection: true });
  await expect.poll(async () => page.evaluate(({ start }) => {
    const norm = (s: string) => s.replace(/\s+/g, ' ').toLowerCase();
    const holder = [...document.querySelectorAll('article p, article li')].find((e) => norm(e.textContent ?? '').includes(norm(start)));
    const r = holder!.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight && window.scrollY > 0;
  }, { start })).toBe(true);
  expect(pageUrl).toContain('/docs/');
});
