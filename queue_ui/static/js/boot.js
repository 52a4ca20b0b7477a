// Runs first inside <body> (an external file: the CSP allows no inline script). The NHS design
// system styles its enhanced components only when the body says JavaScript is on and supported.
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " nhsuk-frontend-supported" : "");
