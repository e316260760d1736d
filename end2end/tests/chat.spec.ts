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
  expect(href).toMatch(/\/docs\/locomotion\/bipedal-walking#the-zero-moment-point$/);

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
