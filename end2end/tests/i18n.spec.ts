import { expect, test } from '@playwright/test';
import { ask, widgetFrame } from './helpers';

const HOST = process.env.BOOKCHAT_HOST_URL ?? 'http://127.0.0.1:3310';
const PAGE = `${HOST}/docs/ros2/ros2-architecture`;
const ARABIC_SCRIPT = /[\u0600-\u06FF]/;

test('an Urdu book page gets an Urdu, right-to-left widget; answers stay in the book\'s language', async ({ page }) => {
  // The host page says it is in Urdu (<html lang="ur">), as an Urdu edition of the book does.
  await page.addInitScript(() => {
    new MutationObserver((_, o) => {
      if (document.documentElement) { document.documentElement.lang = 'ur'; o.disconnect(); }
    }).observe(document, { childList: true });
  });
  await page.goto(PAGE);
  const launcher = page.getByTestId('bookchat-launcher');
  await expect(launcher).toHaveAttribute('aria-label', 'بک چیٹ سے پوچھیں');
  // Right to left: the launcher sits bottom-left.
  const box = await launcher.boundingBox();
  expect(box!.x).toBeLessThan((page.viewportSize()!.width) / 2);

  await launcher.click();
  const frame = await widgetFrame(page);
  const widget = frame.locator('.bc-widget');
  await expect(widget).toHaveAttribute('dir', 'rtl');
  await expect(widget).toHaveAttribute('lang', 'ur');
  await expect(frame.locator('html')).toHaveAttribute('lang', 'ur');
  await expect(frame.getByTestId('composer')).toHaveAttribute('placeholder', /کتاب کے بارے میں پوچھیں/);
  await expect(frame.getByTestId('greeting')).toHaveText(ARABIC_SCRIPT);
  await expect(frame.getByTestId('send')).toHaveAttribute('aria-label', 'بھیجیں');
  await expect(frame.getByTestId('chapter-only').locator('..')).toHaveText('صرف یہ باب');
  // The layout is mirrored: the header's actions are on the left.
  const title = await frame.getByTestId('conversation-title').boundingBox();
  const actions = await frame.getByTestId('new-conversation').boundingBox();
  expect(actions!.x).toBeLessThan(title!.x);

  // The answer is in English, like the book, and laid out left to right inside the RTL panel.
  await ask(frame, 'What is ROS 2?');
  const answer = frame.getByTestId('msg-assistant').last().getByTestId('msg-body');
  await expect(answer).toHaveAttribute('dir', 'auto');
  expect(await answer.evaluate((el) => getComputedStyle(el).direction)).toBe('ltr');
  expect(await answer.innerText()).not.toMatch(ARABIC_SCRIPT);
  await expect(frame.getByTestId('regenerate')).toContainText('دوبارہ لکھیں');

  // A rule the reader breaks is explained in Urdu too (the server's sentence is English).
  await frame.getByTestId('conversation-menu').click();
  await frame.getByTestId('rename').click();
  await frame.getByTestId('rename-input').fill('   ');
  await frame.getByTestId('rename-input').press('Enter');
  const notice = frame.getByTestId('notice');
  await expect(notice).toContainText('عنوان خالی نہیں ہو سکتا');
  expect(await notice.innerText()).not.toMatch(/title/i);
  // Escape cancels the rename and leaves the panel open.
  await frame.getByTestId('rename-input').press('Escape');
  await expect(frame.getByTestId('rename-input')).toHaveCount(0);
  await expect(frame.getByTestId('conversation-title')).toBeVisible();

  // The history pane, in Urdu too.
  await frame.getByTestId('open-history').click();
  await expect(frame.getByTestId('history-group').first()).toHaveText('آج');
  await expect(frame.getByTestId('history-search')).toHaveAttribute('placeholder', 'اپنی گفتگوؤں میں تلاش کریں');
});

test('the full-page history in Urdu is right to left', async ({ page }) => {
  await page.goto('/conversations?lang=ur');
  await expect(page.locator('body[data-ready="true"]')).toBeAttached();
  const main = page.locator('main.bc-fullpage');
  await expect(main).toHaveAttribute('dir', 'rtl');
  await expect(page.locator('h2.bc-title')).toHaveText('آپ کی گفتگوئیں');
  await expect(page.getByTestId('history-empty')).toHaveText(ARABIC_SCRIPT);
  // English stays the default.
  await page.goto('/conversations');
  await expect(page.locator('main.bc-fullpage')).toHaveAttribute('dir', 'ltr');
  await expect(page.locator('h2.bc-title')).toHaveText('Your conversations');
});
