/**
 * GraphiQL for people exploring the API in a browser. The page loads GraphiQL's UMD build from a CDN
 * (the browser needs internet; the gateway does not): vendoring React and GraphiQL into the gateway
 * would add ~3 MB of front-end code to a back-end package. Paste a token into the Headers tab as
 * {"Authorization": "Bearer <token>"}; `npm run cli -- token --org <slug>` prints one.
 */
export function graphiqlPage(endpoint: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>manifest-gateway · GraphiQL</title>
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3.8.3/graphiql.min.css" />
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script crossorigin src="https://unpkg.com/react@18.3.1/umd/react.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: ${JSON.stringify(endpoint)} });
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultHeaders: JSON.stringify({ Authorization: 'Bearer <paste a token from: npm run cli -- token --org <slug>>' }, null, 2),
        defaultQuery: '{\\n  organization {\\n    name\\n    workspaces(first: 10) {\\n      totalCount\\n      edges { node { id name } }\\n    }\\n  }\\n}\\n',
      }),
    );
  </script>
</body>
</html>`;
}
