// A module the page's script imports: modules need the right Content-Type (text/javascript) to load at all.
export function greeting(now) {
  return 'Script loaded at ' + now.toLocaleTimeString() + '.';
}
