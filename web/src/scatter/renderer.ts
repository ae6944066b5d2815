/* renderer.ts — the WebGL2 point renderer.
 *
 * Buffers (uploaded once per embedding / per colouring, never per frame):
 *   a_x, a_y   Float32 (one buffer each: the layout columns as decoded, no interleaving copy)
 *   a_color    Uint8 RGBA normalised; alpha 0 = hidden (moved outside the clip volume in the vertex shader);
 *              0 < alpha < 255 = dimmed (when `layered`, drawn in a first pass so the others stay on top)
 *   indices    optional Uint32 draw order (continuous colourings: by value, highest on top)
 * Uniforms: clip-space scale/offset (camera), point size (device px), global opacity.
 * Drawing is on demand (requestRender coalesces into one animation frame); a frame allocates nothing.
 * Blending is premultiplied alpha over a transparent clear colour, so the page background shows through and a
 * read-back can count drawn pixels by alpha.
 */
import { Camera } from './camera';

const VS = `#version 300 es
in float a_x;
in float a_y;
in vec4 a_color;
uniform vec4 u_xf;
uniform float u_size;
uniform int u_pass;
out vec4 v_color;
void main() {
  v_color = a_color;
  bool front = a_color.a > 0.99;
  if (a_color.a == 0.0 || isnan(a_x) || isnan(a_y) || (u_pass == 1 && front) || (u_pass == 2 && !front)) { gl_Position = vec4(2.0, 2.0, 2.0, 1.0); gl_PointSize = 0.0; return; }
  gl_Position = vec4(a_x * u_xf.x + u_xf.z, a_y * u_xf.y + u_xf.w, 0.0, 1.0);
  gl_PointSize = u_size;
}`;

const FS = `#version 300 es
precision mediump float;
in vec4 v_color;
uniform float u_opacity;
uniform float u_round;
out vec4 o;
void main() {
  vec2 d = gl_PointCoord * 2.0 - 1.0;
  float r2 = dot(d, d);
  if (u_round > 0.5 && r2 > 1.0) discard;
  float edge = u_round > 0.5 && v_color.a > 0.99 ? 1.0 - smoothstep(0.55, 1.0, r2) * 0.22 : 1.0;
  float a = v_color.a * u_opacity;
  o = vec4(v_color.rgb * edge * a, a);
}`;

function compile(gl: WebGL2RenderingContext, type: number, src: string): WebGLShader {
  const s = gl.createShader(type)!;
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error('shader: ' + gl.getShaderInfoLog(s));
  return s;
}

export class ScatterRenderer {
  readonly camera = new Camera();
  readonly gl: WebGL2RenderingContext;
  private prog: WebGLProgram;
  private vao: WebGLVertexArrayObject;
  private bx: WebGLBuffer;
  private by: WebGLBuffer;
  private bc: WebGLBuffer;
  private bi: WebGLBuffer;
  private ordered = false;
  private uXf: WebGLUniformLocation;
  private uSize: WebGLUniformLocation;
  private uOpacity: WebGLUniformLocation;
  private uRound: WebGLUniformLocation;
  private uPass: WebGLUniformLocation;
  /** Set when some cells are drawn dimmed (alpha < 255): they are drawn first, the others over them. */
  layered = false;
  private xf = new Float32Array(4);
  private n = 0;
  private colorCap = 0;
  private frame = 0;
  private dpr = 1;
  /** Called after each drawn frame (e.g. to move overlays). */
  onFrame: (() => void) | null = null;

  constructor(readonly canvas: HTMLCanvasElement) {
    const gl = canvas.getContext('webgl2', { antialias: false, alpha: true, premultipliedAlpha: true,
                                             preserveDrawingBuffer: false, depth: false, stencil: false });
    if (!gl) throw new Error('WebGL2 is not available in this browser');
    this.gl = gl;
    const p = gl.createProgram()!;
    gl.attachShader(p, compile(gl, gl.VERTEX_SHADER, VS));
    gl.attachShader(p, compile(gl, gl.FRAGMENT_SHADER, FS));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error('link: ' + gl.getProgramInfoLog(p));
    this.prog = p;
    this.uXf = gl.getUniformLocation(p, 'u_xf')!;
    this.uSize = gl.getUniformLocation(p, 'u_size')!;
    this.uOpacity = gl.getUniformLocation(p, 'u_opacity')!;
    this.uRound = gl.getUniformLocation(p, 'u_round')!;
    this.uPass = gl.getUniformLocation(p, 'u_pass')!;
    this.vao = gl.createVertexArray()!;
    gl.bindVertexArray(this.vao);
    this.bx = this.attrib('a_x', 1, gl.FLOAT, false);
    this.by = this.attrib('a_y', 1, gl.FLOAT, false);
    this.bc = this.attrib('a_color', 4, gl.UNSIGNED_BYTE, true);
    this.bi = gl.createBuffer()!;
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.bi);
    gl.bindVertexArray(null);
  }

  private attrib(name: string, size: number, type: number, norm: boolean): WebGLBuffer {
    const gl = this.gl, b = gl.createBuffer()!, loc = gl.getAttribLocation(this.prog, name);
    gl.bindBuffer(gl.ARRAY_BUFFER, b);
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, size, type, norm, 0, 0);
    return b;
  }

  /** Uploads an embedding (x, y in [0,1]; NaN = not drawn). */
  setPositions(x: Float32Array, y: Float32Array): void {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.bx);
    gl.bufferData(gl.ARRAY_BUFFER, x, gl.STATIC_DRAW);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.by);
    gl.bufferData(gl.ARRAY_BUFFER, y, gl.STATIC_DRAW);
    this.n = x.length;
    this.requestRender();
  }

  /** Uploads n × RGBA colours (alpha 0 = hidden). */
  setColors(rgba: Uint8Array): void {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.bc);
    if (rgba.byteLength !== this.colorCap) {
      gl.bufferData(gl.ARRAY_BUFFER, rgba, gl.DYNAMIC_DRAW);
      this.colorCap = rgba.byteLength;
    } else {
      gl.bufferSubData(gl.ARRAY_BUFFER, 0, rgba);
    }
    this.requestRender();
  }

  /** Sets the draw order (n cell indices; later ones are drawn on top), or null for index order. */
  setOrder(order: Uint32Array | null): void {
    const gl = this.gl;
    this.ordered = order !== null && order.length === this.n;
    if (this.ordered) {
      gl.bindVertexArray(this.vao);
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, order!, gl.DYNAMIC_DRAW);
      gl.bindVertexArray(null);
    }
    this.requestRender();
  }

  private drawPoints(): void {
    const gl = this.gl;
    if (this.ordered) gl.drawElements(gl.POINTS, this.n, gl.UNSIGNED_INT, 0);
    else gl.drawArrays(gl.POINTS, 0, this.n);
  }

  /** Matches the drawing buffer to the element's CSS size × devicePixelRatio. */
  resize(): void {
    const r = this.canvas.getBoundingClientRect();
    this.dpr = Math.min(2, window.devicePixelRatio || 1);
    const w = Math.max(1, Math.round(r.width * this.dpr)), h = Math.max(1, Math.round(r.height * this.dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.camera.resize(r.width, r.height);
    this.requestRender();
  }

  requestRender(): void {
    if (!this.frame) this.frame = requestAnimationFrame(this.drawFrame);
  }

  private drawFrame = (): void => {
    this.frame = 0;
    this.draw();
    if (this.onFrame) this.onFrame();
  };

  /** Point size (CSS px) and opacity adapted to the number of cells and the zoom. */
  private pointStyle(): [number, number] {
    const n = Math.max(1, this.n), cam = this.camera;
    const base = (0.3 * Math.min(cam.w, cam.h)) / Math.sqrt(n);
    const size = Math.min(24, Math.max(1.25, Math.min(9, base) * Math.pow(cam.zoom, 0.5)));
    const opacity = n <= 20000 ? 0.9 : Math.max(0.3, 0.9 * Math.pow(20000 / n, 0.28));
    return [size, opacity];
  }

  draw(): void {
    const gl = this.gl;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.n || this.colorCap !== this.n * 4) return;
    const [size, opacity] = this.pointStyle();
    this.camera.clip(this.xf);
    gl.useProgram(this.prog);
    gl.uniform4fv(this.uXf, this.xf);
    gl.uniform1f(this.uSize, size * this.dpr);
    gl.uniform1f(this.uOpacity, opacity);
    gl.uniform1f(this.uRound, size * this.dpr >= 3 ? 1 : 0);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.bindVertexArray(this.vao);
    if (this.layered) {
      gl.uniform1i(this.uPass, 1);
      this.drawPoints();
      gl.uniform1i(this.uPass, 2);
    } else {
      gl.uniform1i(this.uPass, 0);
    }
    this.drawPoints();
    gl.bindVertexArray(null);
  }

  /** Draws k frames synchronously (panning a pixel each way) and returns ms per frame, each frame waited for
   * by a one-pixel read-back (gl.finish does not wait in Chromium). For benchmarks. */
  timeFrames(k: number): number {
    const gl = this.gl, px = new Uint8Array(4), t0 = performance.now();
    for (let i = 0; i < k; i++) {
      this.camera.pan(i % 2 ? -1 : 1, 0);
      this.draw();
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
    }
    return (performance.now() - t0) / k;
  }

  /** Draws now and reads the frame back: pixels with alpha > 0 and an FNV-1a hash of their RGBA (for tests). */
  readback(): { drawn: number; hash: number; width: number; height: number } {
    this.draw();
    const gl = this.gl, w = this.canvas.width, h = this.canvas.height;
    const px = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
    let drawn = 0, hash = 0x811c9dc5;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] === 0) continue;
      drawn++;
      for (let c = 0; c < 4; c++) hash = Math.imul(hash ^ px[i + c], 0x01000193);
    }
    return { drawn, hash: hash >>> 0, width: w, height: h };
  }
}
