/*
 * The GraphiQL page's own script (served by the gateway as a file, so the page's Content-Security-Policy
 * allows no inline script). Plain browser JavaScript over the UMD globals React, ReactDOM and GraphiQL
 * that the page loads before it: no build step.
 *
 * Authentication: the credential bar above GraphiQL takes a bearer token or an fl_… API key. A key is
 * exchanged at POST /auth/token (the same exchange every API-key client does) and only the resulting
 * short-lived token is kept, in sessionStorage (gone when the tab closes; the key itself is never stored).
 * Every request then carries `Authorization: Bearer <token>`, unless the Headers tab sets its own.
 * Without a credential, requests go out anonymously: introspection works when GRAPHQL_INTROSPECTION is on,
 * so the docs explorer fills on first load.
 */
(function () {
  'use strict';

  var STORAGE_KEY = 'manifest-gateway:graphiql:token';
  var root = document.getElementById('graphiql');
  var endpoint = root.getAttribute('data-endpoint');
  var tokenEndpoint = root.getAttribute('data-token-endpoint');
  var form = document.getElementById('credential-form');
  var input = document.getElementById('credential');
  var forget = document.getElementById('credential-forget');
  var status = document.getElementById('credential-status');
  // The nonce the page's Content-Security-Policy allows for <style> elements: react-style-singleton (inside
  // graphiql.min.js) stamps the ones GraphiQL's dialogs insert with this webpack-convention global.
  window.__webpack_nonce__ = root.getAttribute('data-style-nonce');

  var DEFAULT_QUERY = [
    '# The schema loads without a credential:',
    '# open Docs (the book icon, left).',
    '#',
    '# To run queries, paste a token or an',
    '# API key into the bar above, then "Use":',
    '#   npm run cli -- token --org demo',
    '#   npm run cli -- apikey create \\',
    '#     --org demo --name graphiql',
    '# (`npm run cli -- seed` creates "demo".)',
    '# Then run with ▶ or Ctrl-Enter.',
    '',
    'query Overview {',
    '  viewer {',
    '    subject',
    '    scopes',
    '  }',
    '  organization {',
    '    name',
    '    slug',
    '    workspaces(first: 10) {',
    '      totalCount',
    '      edges {',
    '        node {',
    '          name',
    '          environments(first: 10) {',
    '            edges {',
    '              node { name slug tier }',
    '            }',
    '          }',
    '          components(first: 10) {',
    '            edges {',
    '              node { name type }',
    '            }',
    '          }',
    '        }',
    '      }',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');

  function readToken() {
    try {
      return window.sessionStorage.getItem(STORAGE_KEY) || '';
    } catch (_) {
      return '';
    }
  }

  function writeToken(token) {
    try {
      if (token) window.sessionStorage.setItem(STORAGE_KEY, token);
      else window.sessionStorage.removeItem(STORAGE_KEY);
    } catch (_) {
      /* storage disabled: the token lives until the page is reloaded */
    }
    currentToken = token;
  }

  var currentToken = readToken();

  /** The token's claims, for display only (the gateway verifies it; this never does). */
  function claimsOf(token) {
    try {
      var part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(window.atob(part + '==='.slice((part.length + 3) % 4)));
    } catch (_) {
      return null;
    }
  }

  function showStatus(text, kind) {
    status.textContent = text;
    status.className = kind || '';
  }

  function describeToken() {
    if (!currentToken) {
      showStatus('No credential: the schema and docs work; queries need a token or an API key.', '');
      return;
    }
    var claims = claimsOf(currentToken);
    var text = 'Using a bearer token';
    if (claims && typeof claims.sub === 'string') text += ' for ' + claims.sub;
    if (claims && typeof claims.exp === 'number') {
      var expires = new Date(claims.exp * 1000);
      text += (expires.getTime() < Date.now() ? ', expired at ' : ', expires at ') + expires.toLocaleTimeString();
    }
    showStatus(text + '.', 'ok');
  }

  /** POST /auth/token {"api_key": "fl_…"} → the access token; throws with the gateway's own message. */
  function exchangeApiKey(apiKey) {
    return window
      .fetch(tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ api_key: apiKey }),
      })
      .then(function (response) {
        return response.json().then(
          function (body) {
            if (response.ok && body && typeof body.access_token === 'string') return body.access_token;
            var reason = (body && (body.error_description || body.error)) || 'HTTP ' + response.status;
            throw new Error('The API key was refused: ' + reason);
          },
          function () {
            throw new Error('The API key exchange failed: HTTP ' + response.status);
          },
        );
      });
  }

  if (typeof GraphiQL === 'undefined' || typeof React === 'undefined' || typeof ReactDOM === 'undefined') {
    root.textContent = 'GraphiQL failed to load its scripts from this gateway (see the browser console).';
    return;
  }

  /**
   * GraphiQL's own fetcher (createFetcher = @graphiql/toolkit's createGraphiQLFetcher) with a fetch that
   * adds the current bearer token at call time, so a new credential applies to the next request without
   * re-rendering GraphiQL. Incremental delivery (multipart @defer/@stream) is off: the gateway serves
   * single JSON results, and we ask for them the GraphQL-over-HTTP way.
   */
  var fetcher = GraphiQL.createFetcher({
    url: endpoint,
    enableIncrementalDelivery: false,
    fetch: function (url, init) {
      var headers = new Headers((init && init.headers) || {});
      headers.set('accept', 'application/graphql-response+json, application/json;q=0.9');
      if (currentToken && !headers.has('authorization')) headers.set('authorization', 'Bearer ' + currentToken);
      return window.fetch(url, Object.assign({}, init, { headers: headers }));
    },
  });

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      shouldPersistHeaders: false,
    }),
  );

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var value = input.value.trim().replace(/^bearer\s+/i, '');
    if (!value) {
      showStatus('Paste a token (eyJ…) or an API key (fl_…) first.', 'error');
      return;
    }
    var button = form.querySelector('button[type=submit]');
    button.disabled = true;
    var tokenPromise = value.indexOf('fl_') === 0 ? exchangeApiKey(value) : Promise.resolve(value);
    if (value.indexOf('fl_') === 0) showStatus('Exchanging the API key at ' + tokenEndpoint + '…', '');
    tokenPromise
      .then(function (token) {
        input.value = '';
        writeToken(token);
        describeToken();
      })
      .catch(function (error) {
        showStatus(error.message + (currentToken ? ' (still using the previous token)' : ''), 'error');
      })
      .then(function () {
        button.disabled = false;
      });
  });

  forget.addEventListener('click', function () {
    input.value = '';
    writeToken('');
    describeToken();
  });

  describeToken();
})();
