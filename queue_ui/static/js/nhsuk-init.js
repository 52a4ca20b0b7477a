// Start the NHS design system's components (header menu, skip link, error summary, tabs ...).
import { initAll } from "/static/vendor/nhsuk/nhsuk-frontend.min.js";

initAll();
