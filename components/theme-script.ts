// The theme choice's storage key and the inline script that applies it before the first paint.
// Kept out of the client component so the server layout can import the string itself.

export const themeKey = "agentplatform.console.theme";

/** Runs in <head> before the body paints; must stay self-contained. */
export const themeScript = `(function(){try{var t=localStorage.getItem(${JSON.stringify(themeKey)});if(t==="light"||t==="dark")document.documentElement.dataset.theme=t;}catch(e){}})();`;
