import { expect, test } from '@playwright/test';
import { ask, openWidget } from './helpers';

// The author's side of a gap: a reader's question the book cannot answer shows up in /admin's
// Book health; the author pins an answer there in the browser; the next reader who asks it in
// other words gets that answer, marked as the author's.
test('an answer pinned from Book health reaches the next reader, marked as the author\'s', async ({ page, browser, baseURL }) => {
  const secret = process.env.BOOKCHAT_ADMIN_SECRET;
  expect(secret, 'BOOKCHAT_ADMIN_SECRET is set for the e2e server').toBeTruthy();
  const frame = await openWidget(page);
  await ask(frame, 'How do I bake sourdough bread?');
  await expect(frame.getByTestId('msg-assistant').last()).toContainText("couldn't find an answer to that in the book");

  const author = await browser.newContext({ httpCredentials: { username: 'admin', password: secret! } });
  const admin = await author.newPage();
  await admin.goto(`${baseURL}/admin#health`);
  const gap = admin.getByTestId('gap-group').filter({ hasText: 'sourdough' });
  await expect(gap).toHaveCount(1);
  await gap.getByRole('textbox', { name: 'Your answer' }).fill('Baking is outside this book: see **your kitchen robot\'s manual**.');
  await gap.getByRole('button', { name: 'Pin this answer' }).click();
  const pin = admin.getByTestId('pin').filter({ hasText: 'sourdough' });
  await expect(pin).toHaveCount(1);

  try {
    await ask(frame, 'How can I bake sourdough bread at home?');
    const answer = frame.getByTestId('msg-assistant').last();
    await expect(answer.getByTestId('msg-pinned')).toHaveText("Answer from the book's author");
    await expect(answer.locator('strong')).toHaveText("your kitchen robot's manual");
  } finally {
    await pin.getByTestId('pin-delete').click();
    await expect(admin.getByTestId('pin').filter({ hasText: 'sourdough' })).toHaveCount(0);
    await author.close();
  }
});
