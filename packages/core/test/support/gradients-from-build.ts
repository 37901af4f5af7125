import '../../dist/index.js';
