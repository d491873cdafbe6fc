export function greet(name) {
  const p = document.createElement("p");
  p.textContent = `Hello, ${name}!`;
  return p;
}
