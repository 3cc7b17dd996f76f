// The automation list: its rows answer 422 with the reason a rename or an activation was refused.
import { allowErrorSwaps } from "./panels.js";

allowErrorSwaps();
