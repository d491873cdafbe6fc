// The demo's script, a module: a static import and a dynamic one.
import { greet } from "./greet.js";

document.addEventListener("DOMContentLoaded", async () => {
  document.body.append(greet("static files"));
  const { shout } = await import("./shout.js");
  console.log(shout("loaded"));
});
//# sourceMappingURL=app.js.map
