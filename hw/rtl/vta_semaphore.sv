// Dependency-token counter between two stages (one of the four queues l2g, g2l, g2s, s2g).
// A post and a wait in the same cycle leave the count unchanged. A stage waits only for a token
// that is there; a producer that posts 2^Width tokens nobody takes overflows the counter, which
// is asserted (NoTokenOverflow). The count is visible for deadlock reports.
`include "vta_assert.svh"

module vta_semaphore #(
  parameter int unsigned Width = 16
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             post_i,
  input  logic             wait_i,
  output logic             avail_o,
  output logic [Width-1:0] count_o
);
  logic [Width-1:0] count_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      count_q <= '0;
    end else if (post_i && !wait_i) begin
      count_q <= count_q + 1'b1;
    end else if (wait_i && !post_i) begin
      count_q <= count_q - 1'b1;
    end
  end
  assign avail_o = (count_q != '0);
  assign count_o = count_q;

  `VTA_ASSERT_NEVER(NoTokenOverflow, post_i && !wait_i && count_q == '1)
  `VTA_ASSERT_NEVER(NoTokenUnderflow, wait_i && count_q == '0)
endmodule
