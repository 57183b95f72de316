'use strict';
// Sends the account name and password to /login as JSON; the server opens a
// database session with them and keeps neither.
document.getElementById('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = document.getElementById('login-error');
  const button = document.getElementById('login-submit');
  const password = document.getElementById('login-password');
  error.hidden = true;
  button.disabled = true;
  try {
    const response = await fetch('/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ role: document.getElementById('login-role').value, password: password.value }),
      credentials: 'same-origin',
    });
    password.value = '';
    if (response.ok) {
      window.location.assign('/keys');
      return;
    }
    let message = 'Sign-in failed.';
    try { message = (await response.json()).error || message; } catch (e) { /* keep the default */ }
    error.textContent = message;
    error.hidden = false;
  } catch (e) {
    error.textContent = 'The console cannot be reached. Try again.';
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});
