import { aptSection } from './apt/apt-section.js';
import { binSection } from './bin/bin-section.js';
import { driversSection } from './drivers/drivers-section.js';
import type { Section } from './section.js';
import { yumSection } from './yum/yum-section.js';

/** Every kind of repository, in the order a publish builds them. A new kind is a folder and a line here. */
export const SECTIONS: readonly Section[] = [aptSection, yumSection, binSection, driversSection];
